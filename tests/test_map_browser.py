"""The interactive map in a real browser (Debian's chromium + chromedriver, via selenium).

Marked ``browser``; skipped, saying how to install one, where no browser is found. The page
is opened from its file URL, searched and hovered as a person would.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from graphrec.viz.pagecheck import INSTALL_HINT, find_browser

pytestmark = pytest.mark.browser

if find_browser() is None:
    pytest.skip(f"no Chromium found: {INSTALL_HINT}", allow_module_level=True)
pytest.importorskip("selenium", reason=INSTALL_HINT)
pytest.importorskip("bokeh", reason="the map needs bokeh: pip install 'graphrec[viz]'")

STAR_WARS = "Star Wars (1977)"


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    """A 2,000-movie map: clusters by genre, Star Wars and its sequel side by side."""
    from graphrec.viz.interactive import write_map_html

    rng = np.random.default_rng(0)
    n = 2000
    genres = [("Action|Sci-Fi", "Drama", "Comedy|Romance", "Horror")[i % 4] for i in range(n)]
    centres = {"A": (0, 0), "D": (6, 0), "C": (0, 6), "H": (6, 6)}
    xy = np.array([centres[g[0]] for g in genres]) + rng.normal(scale=1.0, size=(n, 2))
    titles = [f"Film {i} ({1950 + i % 50})" for i in range(n)]
    titles[0], titles[4] = STAR_WARS, "Empire Strikes Back, The (1980)"
    neighbours = [[titles[4] if i == 0 else titles[0]] + titles[10:14] for i in range(n)]
    path = tmp_path_factory.mktemp("map") / "map.html"
    write_map_html(
        path,
        xy,
        titles,
        genres,
        rng.integers(1, 500, n),
        neighbours,
        title="test map",
        highlights={"rated by user 1": [4, 8, 12]},
    )
    return path


@pytest.fixture(scope="module")
def page(page_file):
    from graphrec.viz.pagecheck import MapPage

    with MapPage() as p:
        p.open(page_file)
        yield p


def test_page_opens_offline_without_console_errors(page, page_file):
    assert page.render_ms is not None and page.render_ms < 30_000
    assert page.console_errors() == []
    # nothing but the file itself (and data: URLs) is ever requested
    fetched = [u for u in page.requests() if not u.startswith(("file:", "data:", "blob:"))]
    assert fetched == []
    report = {"bytes": page_file.stat().st_size, "render_ms": round(page.render_ms, 1)}
    print(f"synthetic 2,000-movie map: {json.dumps(report)}")


def test_search_centres_and_rings_the_title(page, tmp_path):
    assert page.search("star wars (1977)") == STAR_WARS  # any case, as typed
    ring = page.ring()
    assert len(ring["x"]) == 1
    x, y = page.point(STAR_WARS)
    # the ringed film sits in the middle of the map's frame now
    frame = page.driver.execute_script(
        "const v = Bokeh.index.get(Bokeh.documents[0].get_model_by_name('map'));"
        "const r = v.canvas_view.el.getBoundingClientRect();"
        "return [r.left + v.frame.bbox.x0, r.left + v.frame.bbox.x1,"
        "        r.top + v.frame.bbox.y0, r.top + v.frame.bbox.y1];"
    )
    assert abs(x - (frame[0] + frame[1]) / 2) < 3 and abs(y - (frame[2] + frame[3]) / 2) < 3
    assert STAR_WARS in page.status() and "ratings" in page.status()
    # a substring finds a film too; a title that is not there says so and clears the ring
    assert page.search("empire strikes") == "Empire Strikes Back, The (1980)"
    assert page.search("no such film") is None
    assert page.ring()["x"] == [] and "no title contains" in page.status()
    page.search(STAR_WARS)
    shot = page.screenshot(Path(os.environ.get("GRAPHREC_SCREENSHOTS", tmp_path)) / "search.png")
    assert shot.stat().st_size > 10_000


def test_hover_shows_title_year_genres_ratings_and_neighbours(page):
    page.search(STAR_WARS)
    tips = page.hover(STAR_WARS)
    assert tips, "no tooltip appeared over the point"
    tip = tips[0]
    assert tip.splitlines()[0] == STAR_WARS
    assert "year 1977" in tip and "Action, Sci-Fi" in tip and "ratings" in tip
    assert "nearest: Empire Strikes Back, The (1980)" in tip
