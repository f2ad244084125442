"""minilib.plot: house style and figure helpers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minilib import plot  # noqa: E402


def test_use_style_sets_palette():
    plot.use_style()
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    assert colors[:2] == [plot.PALETTE["blue"], plot.PALETTE["orange"]]
    assert plt.rcParams["axes.spines.top"] is False


def test_overlay_mask_blends_and_outlines():
    img = np.zeros((6, 6, 3), dtype=np.uint8)
    mask = np.zeros((6, 6), bool)
    mask[1:5, 1:5] = True
    out = plot.overlay_mask(img, mask, color="#FF0000", alpha=0.5)
    assert out.shape == (6, 6, 3) and out.dtype == np.float64
    assert np.allclose(out[2, 2], [0.5, 0, 0])  # inside: blended
    assert np.allclose(out[1, 1], [1, 0, 0])  # outline: full colour
    assert np.allclose(out[0, 0], 0)  # outside: untouched
    with pytest.raises(ValueError, match="does not match"):
        plot.overlay_mask(img, mask[:5])


def test_image_grid():
    fig = plot.image_grid(
        [np.zeros((4, 8)), np.ones((4, 8, 3))], titles=["a", "b"], ncols=3
    )
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 2 and shown[0].get_title() == "a"
    plt.close(fig)
    with pytest.raises(ValueError, match="2 titles for 1 images"):
        plot.image_grid([np.zeros((4, 4))], titles=["a", "b"])
    with pytest.raises(ValueError, match="at least one"):
        plot.image_grid([])


def test_image_grid_as_a_table_of_images():
    images = [np.zeros((4, 6))] * 6
    fig = plot.image_grid(
        images, ncols=3, col_titles=["x", "y", "z"], row_titles=["r1", "r2"]
    )
    top = [ax.get_title() for ax in fig.axes[:3]]
    left = [fig.axes[0].get_ylabel(), fig.axes[3].get_ylabel()]
    assert top == ["x", "y", "z"] and left == ["r1", "r2"]
    assert fig.get_figwidth() == plot.COLUMN_WIDTH  # drawn at the column's width
    plt.close(fig)
    with pytest.raises(ValueError, match="2 column titles for 3 columns"):
        plot.image_grid(images, ncols=3, col_titles=["x", "y"])
    with pytest.raises(ValueError, match="1 row titles for 2 rows"):
        plot.image_grid(images, ncols=3, row_titles=["r1"])


def test_show_jpeg_displays_and_closes(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj))
    fig = plot.image_grid([np.random.default_rng(0).random((20, 30, 3))])
    plot.show_jpeg(fig)
    assert not plt.fignum_exists(fig.number)
    assert len(shown) == 1 and shown[0].data[:2] == b"\xff\xd8"  # JPEG magic
    with pytest.raises(ValueError, match="quality"):
        plot.show_jpeg(plot.image_grid([np.zeros((4, 4))]), quality=100)
