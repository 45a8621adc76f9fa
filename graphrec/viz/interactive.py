"""The embedding map as one self-contained HTML page people explore (Bokeh, imported lazily).

:func:`write_map_html` writes ``map.html``: every movie a point at its 2-D UMAP position,
coloured by primary genre (click a genre in the legend to hide or show it), sized by its
number of train ratings; hovering a point shows its title, year, genres, ratings and its five
nearest movies by the run's own similarity; a search box finds a title (substring, any case),
centres the map on it and rings it; optional highlight groups (a user's rated movies and top
recommendations) are drawn on top with their own legend entries.

The page opens offline: BokehJS is inlined (``bokeh.resources.INLINE``), the data sit in the
page, and nothing is fetched from the network. Bokeh rather than Plotly because at 10k points
the inlined page is 1.9 MB against Plotly's 5.2 MB while both draw in under a second in
headless Chromium (WebGL points; measured in ``tests/test_map_browser.py``).

For tests and scripts the page exposes ``window.graphrecMap``: ``search(text)`` (returns the
title found or ``null``), ``selected()`` (the ringed title), ``ready()`` (true once drawn).
"""

from __future__ import annotations

import html
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["write_map_html", "primary_genres", "page_is_offline", "MAX_GENRES"]

#: distinct genre colours; rarer primary genres are drawn as "other"
MAX_GENRES = 19

_YEAR = re.compile(r"\((\d{4})\)\s*$")


def primary_genres(genres: Sequence[str], limit: int = MAX_GENRES) -> list[str]:
    """Each movie's first genre, the ``limit - 1`` commonest kept and the rest ``other``
    (``(none)`` for a movie without genres)."""
    primary = [g.split("|")[0] if g else "(none)" for g in genres]
    counts = Counter(primary)
    if len(counts) <= limit:
        return primary
    keep = {g for g, _ in counts.most_common(limit - 1)}
    return [g if g in keep else "other" for g in primary]


def _palette(n: int) -> list[str]:
    from bokeh.palettes import Category20

    colours = list(Category20[20])
    # dark shade of each pair first, then the light ones: neighbours in the legend differ most
    ordered = colours[0::2] + colours[1::2]
    return [ordered[i % len(ordered)] for i in range(n)]


def write_map_html(
    path: str | os.PathLike,
    xy: np.ndarray,
    titles: Sequence[str],
    genres: Sequence[str],
    counts: Sequence[int],
    neighbours: Sequence[Sequence[str]],
    *,
    title: str = "movie embedding map",
    subtitle: str = "",
    highlights: dict[str, Sequence[int]] | None = None,
) -> Path:
    """Write the interactive map to ``path`` (atomically) and return the path.

    Args:
        path: the ``.html`` file to write.
        xy: ``[N, 2]`` map coordinates (e.g. from :func:`graphrec.viz.maps.umap_coords`).
        titles: ``N`` titles (``"Star Wars (1977)"``; the year is read from the end).
        genres: ``N`` ``|``-joined genre lists; the first is the colour.
        counts: ``N`` numbers of ratings (point size grows with their square root).
        neighbours: for each movie, the titles of its nearest movies (the first five shown).
        title: the page's heading; ``subtitle`` a line under it (the run, the model).
        highlights: ``{legend label: row indices}`` drawn as rings on top, in order (e.g.
            ``{"rated by user 196": [...], "top 10 for user 196": [...]}``).
    """
    from bokeh.embed import components
    from bokeh.embed.bundle import bundle_for_objs_and_resources
    from bokeh.models import (
        CDSView,
        ColumnDataSource,
        GroupFilter,
        HoverTool,
        Legend,
        LegendItem,
        Range1d,
    )
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    from graphrec.io import atomic_write

    xy = np.asarray(xy, dtype=np.float64)
    n = len(titles)
    if xy.shape != (n, 2):
        raise ValueError(f"xy must be [{n}, 2] for {n} titles, got {list(xy.shape)}")
    if not (len(genres) == len(counts) == len(neighbours) == n):
        raise ValueError("titles, genres, counts and neighbours must have one entry per movie")
    if n == 0:
        raise ValueError("no movies to draw")
    counts = np.asarray(counts, dtype=np.float64)
    primary = primary_genres(genres)
    order = [g for g, _ in Counter(primary).most_common()]
    colour = dict(zip(order, _palette(len(order)), strict=True))
    size = 4.0 + 14.0 * np.sqrt(counts / max(counts.max(), 1.0))
    years = []
    for t in titles:
        m = _YEAR.search(t)
        years.append(m.group(1) if m else "?")
    near = [", ".join(list(nb)[:5]) or "(none)" for nb in neighbours]
    source = ColumnDataSource(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "title": list(titles),
            "year": years,
            "genres": [g.replace("|", ", ") or "(none)" for g in genres],
            "primary": primary,
            "n": counts.astype(np.int64),
            "size": size,
            "colour": [colour[g] for g in primary],
            "near": near,
        },
        name="movies",
    )
    # explicit ranges (not auto-ranging): the search sets them, "reset" returns to these
    pad = 0.04 * np.maximum(xy.max(0) - xy.min(0), 1e-9)
    lo, hi = xy.min(0) - pad, xy.max(0) + pad
    fig = figure(
        x_range=Range1d(float(lo[0]), float(hi[0])),
        y_range=Range1d(float(lo[1]), float(hi[1])),
        sizing_mode="stretch_both",
        output_backend="webgl",
        tools="pan,wheel_zoom,box_zoom,reset,save",
        active_scroll="wheel_zoom",
        name="map",
        min_border=0,
    )
    fig.axis.visible = False
    fig.grid.visible = False
    legend_items = []
    movie_renderers = []
    for g in order:
        r = fig.scatter(
            "x",
            "y",
            source=source,
            view=CDSView(filter=GroupFilter(column_name="primary", group=g)),
            size="size",
            fill_color="colour",
            line_color=None,
            fill_alpha=0.7,
        )
        movie_renderers.append(r)
        legend_items.append(LegendItem(label=f"{g} ({primary.count(g)})", renderers=[r]))
    ring_styles = [("black", 2.0), ("#d62728", 2.5), ("#1f77b4", 2.5), ("#2ca02c", 2.5)]
    for i, (label, rows) in enumerate((highlights or {}).items()):
        rows = [int(r) for r in rows]
        if any(not 0 <= r < n for r in rows):
            raise ValueError(f"highlight {label!r} names rows outside 0..{n - 1}")
        line, width = ring_styles[(i + 1) % len(ring_styles)]
        hl = ColumnDataSource(
            {
                "x": xy[rows, 0] if rows else [],
                "y": xy[rows, 1] if rows else [],
                "size": size[rows] + 6 if rows else [],
            },
            name=f"highlight-{i}",
        )
        r = fig.scatter(
            "x", "y", source=hl, size="size", fill_color=None, line_color=line, line_width=width
        )
        legend_items.append(LegendItem(label=f"{label} ({len(rows)})", renderers=[r]))
    found = ColumnDataSource({"x": [], "y": []}, name="found")
    ring = fig.scatter(
        "x", "y", source=found, size=26, fill_color=None, line_color="black", line_width=3
    )
    ring.tags = ["found"]
    legend = Legend(items=legend_items, click_policy="hide", title="primary genre (click)")
    legend.label_text_font_size = "9pt"
    fig.add_layout(legend, "right")
    fig.add_tools(
        HoverTool(
            renderers=movie_renderers,
            tooltips="""
<div class="graphrec-tip" style="max-width:320px">
  <b>@title</b><br>
  year @year &middot; @genres<br>
  @n ratings<br>
  <i>nearest:</i> @near
</div>""",
        )
    )
    script, div = components(fig)
    page = _PAGE.format(
        heading=html.escape(title),
        subtitle=html.escape(subtitle),
        bokeh_js=bundle_for_objs_and_resources([fig], INLINE).scripts(),
        plot_script=script,
        plot_div=div,
        count=n,
    )
    path = Path(path)
    with atomic_write(path, "w") as fh:
        fh.write(page)
    return path


# The search works on the page's own data source: substring, any case; an exact title (or an
# exact title without its year) wins over a longer one that contains the text.
_SEARCH_JS = """
(function () {
  function doc() { return (window.Bokeh && Bokeh.documents.length) ? Bokeh.documents[0] : null; }
  function model(name) { const d = doc(); return d ? d.get_model_by_name(name) : null; }
  let selected = null;
  function norm(s) { return s.toLowerCase().trim(); }
  function find(text) {
    const src = model('movies');
    if (!src || !text) return -1;
    const q = norm(text), titles = src.data.title;
    let best = -1, bestScore = Infinity;
    for (let i = 0; i < titles.length; i++) {
      const t = norm(titles[i]);
      const bare = t.replace(/\\s*\\(\\d{4}\\)\\s*$/, '');
      let score;
      if (t === q || bare === q) score = 0;
      else if (t.includes(q)) score = 1 + t.length;
      else continue;
      if (score < bestScore) { best = i; bestScore = score; }
    }
    return best;
  }
  function search(text) {
    const i = find(text);
    const status = document.getElementById('graphrec-status');
    const src = model('movies'), ring = model('found'), fig = model('map');
    if (i < 0) {
      selected = null;
      if (ring) ring.data = {x: [], y: []};
      status.textContent = text ? 'no title contains "' + text + '"' : '';
      return null;
    }
    const x = src.data.x[i], y = src.data.y[i];
    ring.data = {x: [x], y: [y]};
    const w = (fig.x_range.end - fig.x_range.start) / 2;
    const h = (fig.y_range.end - fig.y_range.start) / 2;
    const zw = Math.min(w, span('x') / 8), zh = Math.min(h, span('y') / 8);
    fig.x_range.setv({start: x - zw, end: x + zw});
    fig.y_range.setv({start: y - zh, end: y + zh});
    selected = src.data.title[i];
    status.textContent = selected + ' \\u2014 ' + src.data.genres[i] + ', ' + src.data.n[i] +
      ' ratings; nearest: ' + src.data.near[i];
    return selected;
  }
  function span(axis) {
    const v = model('movies').data[axis];
    let lo = Infinity, hi = -Infinity;
    for (const a of v) { if (a < lo) lo = a; if (a > hi) hi = a; }
    return hi - lo || 1;
  }
  window.graphrecMap = {
    search: search,
    selected: function () { return selected; },
    ready: function () { const d = doc(); return !!(d && d.is_idle && model('map')); },
  };
  const box = document.getElementById('graphrec-search');
  box.addEventListener('keydown', function (e) { if (e.key === 'Enter') search(box.value); });
  const go = document.getElementById('graphrec-go');
  go.addEventListener('click', function () { search(box.value); });
})();
"""

_PAGE = (
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{heading}</title>
<style>
  html, body {{ margin: 0; height: 100%; font-family: sans-serif; }}
  body {{ display: flex; flex-direction: column; }}
  #graphrec-bar {{ padding: 6px 10px; border-bottom: 1px solid #ddd; }}
  #graphrec-bar h1 {{ font-size: 16px; margin: 0 12px 0 0; display: inline; }}
  #graphrec-bar .sub {{ color: #555; font-size: 12px; }}
  #graphrec-status {{ font-size: 12px; color: #333; margin-top: 4px; min-height: 1.2em; }}
  #graphrec-plot {{ flex: 1; min-height: 0; position: relative; }}
  #graphrec-plot > div {{ position: absolute; inset: 0; }}
</style>
{bokeh_js}
{plot_script}
</head>
<body>
<div id="graphrec-bar">
  <h1>{heading}</h1><span class="sub">{subtitle} &middot; {count} movies &middot; hover a point;
  scroll to zoom; click a genre to hide it</span><br>
  <input id="graphrec-search" type="search" size="40" placeholder="find a title, e.g. star wars">
  <button id="graphrec-go">find</button>
  <div id="graphrec-status"></div>
</div>
<div id="graphrec-plot">{plot_div}</div>
<script>"""
    + _SEARCH_JS.replace("{", "{{").replace("}", "}}")
    + """</script>
</body>
</html>
"""
)


def page_is_offline(text: str) -> list[str]:
    """The external resources an HTML page's markup would load (``src=``/``href=`` of its
    tags naming http(s) or protocol-relative URLs); empty for a page that opens offline.

    Inline script bodies are left out: BokehJS carries a MathJax loader that runs only for
    TeX labels, which the map has none of. The browser test checks the network itself."""
    markup = re.sub(r"(?is)(<script\b[^>]*>).*?</script>", r"\1</script>", text)
    found = re.findall(r"""(?i)\b(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)""", markup)
    return sorted(set(found))
