"""Map labels: films that sit together on the map get labels that do not overlap."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from graphrec.viz.maps import _label_offsets  # noqa: E402


def test_labels_of_a_pile_of_points_are_spread_apart():
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    pts = np.array([[9.0, 1.0], [9.01, 1.0], [9.0, 1.02], [1.0, 5.0]])  # three in a pile
    offsets = _label_offsets(ax, fig, pts, gap=11.0, reach=40.0)
    plt.close(fig)
    # the pile is on the right half: its labels go left; the lone point's label goes right
    assert [o[0] for o in offsets] == [-40.0, -40.0, -40.0, 40.0]
    # label heights (point height + offset, in points) at least `gap` apart
    disp_y = ax.transData.transform(pts)[:, 1] * 72.0 / fig.dpi
    label_y = np.sort(disp_y[:3] + np.array([o[1] for o in offsets[:3]]))
    assert (np.diff(label_y) >= 11.0 - 1e-6).all()
    # centred on the pile, and a lone label stays level with its point
    assert abs(label_y.mean() - disp_y[:3].mean()) < 1.0
    assert offsets[3][1] == 0.0


def test_save_figure_leaves_nothing_behind_on_failure(tmp_path):
    from graphrec.viz import save_figure

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    out = save_figure(fig, tmp_path / "sub" / "ok.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not plt.fignum_exists(fig.number)  # closed
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="xyz"):  # matplotlib: unsupported format
        save_figure(fig, tmp_path / "bad.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub"]
    assert not plt.fignum_exists(fig.number)
