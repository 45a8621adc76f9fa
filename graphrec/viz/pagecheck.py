"""Open a ``map.html`` in a real headless browser and use it as a person would.

Used by the browser tests and by ``experiments/benchmarks/bench_map.py`` (screenshots, page
size, time to first render). Needs Debian's ``chromium`` and ``chromium-driver`` (or any
Chromium/Chrome with its matching chromedriver; ``$GRAPHREC_CHROMIUM`` and
``$GRAPHREC_CHROMEDRIVER`` name them) and ``pip install selenium``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

__all__ = ["find_browser", "MapPage", "INSTALL_HINT"]

INSTALL_HINT = (
    "needs Chromium and its driver: `apt install chromium chromium-driver` (Debian/Ubuntu) "
    "and `pip install selenium`"
)

# the flags a closed network needs: no background fetches, no sync, no component updates
_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",  # software WebGL for the points, without a warning
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,860",
]

# text of every element with class ``cls`` in the page, shadow roots included (Bokeh draws
# its tooltips inside them)
_TEXT_OF = """
function walk(root, cls, out) {
  for (const el of root.querySelectorAll('*')) {
    if (el.classList && el.classList.contains(cls)) out.push(el.innerText);
    if (el.shadowRoot) walk(el.shadowRoot, cls, out);
  }
  return out;
}
return walk(document, arguments[0], []);
"""

# the screen position of a movie's point: the figure's own scales, plus its canvas's offset
_POINT_XY = """
const doc = Bokeh.documents[0];
const fig = doc.get_model_by_name('map'), src = doc.get_model_by_name('movies');
const i = src.data.title.indexOf(arguments[0]);
if (i < 0) return null;
const view = Bokeh.index.get(fig);
const r = view.canvas_view.el.getBoundingClientRect();
return [r.left + view.frame.x_scale.compute(src.data.x[i]),
        r.top + view.frame.y_scale.compute(src.data.y[i])];
"""


def find_browser() -> tuple[str, str] | None:
    """``(chromium, chromedriver)`` paths, or None when either is missing."""
    browser = os.environ.get("GRAPHREC_CHROMIUM") or next(
        (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p),
        None,
    )
    driver = os.environ.get("GRAPHREC_CHROMEDRIVER") or shutil.which("chromedriver")
    if not browser or not driver:
        return None
    return browser, driver


class MapPage:
    """A headless Chromium holding one map page::

    with MapPage() as page:
        page.open("runs/item2vec/.../map.html")
        page.search("Star Wars (1977)")
        print(page.hover("Star Wars (1977)"))
    """

    def __init__(self, timeout: float = 30.0) -> None:
        from selenium import webdriver

        found = find_browser()
        if found is None:
            raise RuntimeError(f"no browser found: {INSTALL_HINT}")
        options = webdriver.ChromeOptions()
        for flag in _FLAGS:
            options.add_argument(flag)
        options.binary_location = found[0]
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=webdriver.ChromeService(found[1]), options=options)
        self.timeout = timeout
        self.render_ms: float | None = None

    def __enter__(self) -> MapPage:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.driver.quit()

    def open(self, path: str | os.PathLike) -> float:
        """Load the page from its file URL; returns milliseconds from navigation start until
        the map is drawn (BokehJS idle)."""
        self.driver.get(Path(path).resolve().as_uri())
        start = time.monotonic()
        while not self.driver.execute_script(
            "return !!(window.graphrecMap && graphrecMap.ready())"
        ):
            if time.monotonic() - start > self.timeout:
                raise TimeoutError(f"{path}: the map was not drawn within {self.timeout:.0f} s")
            time.sleep(0.05)
        self.render_ms = float(self.driver.execute_script("return performance.now()"))
        return self.render_ms

    def console_errors(self) -> list[str]:
        """Console messages of level SEVERE (errors) since the page was opened."""
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def requests(self) -> list[str]:
        """Every URL the page asked for (network log), the page itself included."""
        urls = []
        for entry in self.driver.get_log("performance"):
            msg = json.loads(entry["message"])["message"]
            if msg.get("method") == "Network.requestWillBeSent":
                urls.append(msg["params"]["request"]["url"])
        return urls

    def search(self, text: str) -> str | None:
        """Type ``text`` in the search box and press Enter, as a person would; returns the
        title the map selected (None: nothing found)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        box = self.driver.find_element(By.ID, "graphrec-search")
        box.clear()
        box.send_keys(text, Keys.ENTER)
        time.sleep(0.3)  # let the map redraw at its new range
        return self.driver.execute_script("return graphrecMap.selected()")

    def status(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.ID, "graphrec-status").text

    def ring(self) -> dict:
        """The search ring's data (``{"x": [...], "y": [...]}``)."""
        return self.driver.execute_script(
            "const d = Bokeh.documents[0].get_model_by_name('found').data;"
            "return {x: Array.from(d.x), y: Array.from(d.y)};"
        )

    def point(self, title: str) -> tuple[float, float] | None:
        """Where the point of ``title`` is on the screen (CSS pixels), None if not drawn."""
        xy = self.driver.execute_script(_POINT_XY, title)
        return None if xy is None else (float(xy[0]), float(xy[1]))

    def hover(self, title: str) -> list[str]:
        """Move the mouse onto the point of ``title``; returns the tooltips' text."""
        from selenium.webdriver.common.actions.action_builder import ActionBuilder

        xy = self.point(title)
        if xy is None:
            raise ValueError(f"{title!r} is not on the map")
        actions = ActionBuilder(self.driver)
        actions.pointer_action.move_to_location(int(round(xy[0])), int(round(xy[1])))
        actions.perform()
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            tips = [t for t in self.driver.execute_script(_TEXT_OF, "graphrec-tip") if t.strip()]
            if tips:
                return tips
            time.sleep(0.1)
        return []

    def screenshot(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path
