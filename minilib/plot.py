"""The house style of the book's figures and a few figure helpers.

Nothing changes at import: a chapter calls :func:`use_style` once, in a visible cell.
Colours come from :data:`PALETTE` (colour-blind safe, Okabe-Ito), so "the method" and
"the baseline" keep their colours across chapters.

Figures are drawn at the width of the book's column (:data:`COLUMN_WIDTH` inches at
100 dpi, about the 684-790 px the article column has at 1280-1920 px), so they are
shown at their own size and their text at the size it was set: 9-10 pt, never shrunk.
:func:`subplots` makes such a figure; :func:`dots` draws values with error bars as
points on an axis that need not start at zero (instead of truncated bars).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
"""Okabe-Ito colours, by name."""

CYCLE: tuple[str, ...] = tuple(
    PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "sky", "purple")
)

#: Width of a figure in inches: the book's column at 100 dpi.
COLUMN_WIDTH = 6.8

STYLE: dict[str, object] = {
    "figure.figsize": (COLUMN_WIDTH, 3.4),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "image.cmap": "viridis",
    # stable SVG ids, so re-rendered figures do not differ in their markup
    "svg.hashsalt": "minilib",
}


def use_style() -> None:
    """Apply the house style to matplotlib (rcParams and the colour cycle). Call it once
    per chapter.
    """
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(STYLE)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(CYCLE))


def subplots(
    nrows: int = 1,
    ncols: int = 1,
    *,
    height: float | None = None,
    **kwargs,
):
    """``plt.subplots`` at the column's width: ``(fig, axes)``.

    ``height`` in inches defaults to 2.6 per row (3.4 for a single row);
    ``kwargs`` go to ``plt.subplots`` (``sharey``, ``width_ratios``, ...). The layout
    is "constrained", so titles and legends get their room.
    """
    import matplotlib.pyplot as plt

    if height is None:
        height = 3.4 if nrows == 1 else 2.6 * nrows
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=(COLUMN_WIDTH, height), **kwargs)


def dots(
    ax,
    labels: Sequence[str],
    values: Sequence[float],
    errors: Sequence[float] | None = None,
    *,
    color: str = PALETTE["blue"],
    offset: float = 0.0,
    label: str | None = None,
    reference: float | None = None,
    horizontal: bool = True,
):
    """Values as points with error bars, one per label: the honest picture of numbers
    whose differences are small against their level (a bar chart would have to start
    far from zero).

    ``offset`` shifts the points off the label's line, so several series sit side by
    side; ``reference`` draws a dashed line at that value (e.g. 0 for differences, or a
    baseline's score). Returns the axis.
    """
    pos = np.arange(len(labels)) + offset
    err = None if errors is None else np.asarray(errors, dtype=float)
    if horizontal:
        ax.errorbar(values, pos, xerr=err, fmt="o", color=color, capsize=3, label=label)
        ax.set_yticks(np.arange(len(labels)), labels)
        if not ax.yaxis_inverted():  # the first label on top
            ax.invert_yaxis()
        if reference is not None:
            ax.axvline(reference, color="grey", lw=0.8, ls="--")
    else:
        ax.errorbar(pos, values, yerr=err, fmt="o", color=color, capsize=3, label=label)
        ax.set_xticks(np.arange(len(labels)), labels)
        if reference is not None:
            ax.axhline(reference, color="grey", lw=0.8, ls="--")
    return ax


def overlay_mask(
    image: np.ndarray,
    mask: np.ndarray,
    color: str = PALETTE["vermillion"],
    alpha: float = 0.45,
    outline: bool = True,
) -> np.ndarray:
    """Blend a boolean mask onto an RGB image and (optionally) draw its outline.

    ``image``: (H, W, 3) uint8 or float in [0, 1]; ``mask``: (H, W) bool or 0/1. Returns
    (H, W, 3) float in [0, 1]. Used for DAVIS frames and histology patches.
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.max(initial=0) > 1.0:
        img = img / 255.0
    m = np.asarray(mask).astype(bool)
    if m.shape != img.shape[:2]:
        raise ValueError(
            f"mask shape {m.shape} does not match image shape {img.shape[:2]}"
        )
    rgb = np.array([int(color[i : i + 2], 16) / 255.0 for i in (1, 3, 5)])
    out = img.copy()
    out[m] = (1 - alpha) * out[m] + alpha * rgb
    if outline:
        inner = m.copy()
        inner[1:, :] &= m[:-1, :]
        inner[:-1, :] &= m[1:, :]
        inner[:, 1:] &= m[:, :-1]
        inner[:, :-1] &= m[:, 1:]
        out[m & ~inner] = rgb
    return np.clip(out, 0.0, 1.0)


def image_grid(
    images: Sequence[np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int = 4,
    width: float = COLUMN_WIDTH,
    cmap: str | None = None,
    suptitle: str | None = None,
    *,
    col_titles: Sequence[str] | None = None,
    row_titles: Sequence[str] | None = None,
):
    """Show images in a grid without axes; returns the figure.

    ``images``: a sequence of (H, W) or (H, W, 3) arrays (or PIL images), row by row;
    ``titles``: one per image; or, for a table of images, ``col_titles`` (one per
    column, over the top row) and ``row_titles`` (one per row, left of it). Titles are
    set at 9 pt: with many columns, prefer short column titles to one per image.
    """
    import matplotlib.pyplot as plt

    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    if titles is not None and len(titles) != n:
        raise ValueError(f"{len(titles)} titles for {n} images")
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    if col_titles is not None and len(col_titles) != ncols:
        raise ValueError(f"{len(col_titles)} column titles for {ncols} columns")
    if row_titles is not None and len(row_titles) != nrows:
        raise ValueError(f"{len(row_titles)} row titles for {nrows} rows")
    first = np.asarray(images[0])
    aspect = first.shape[0] / first.shape[1]
    lines = max((t.count("\n") + 1 for t in titles or col_titles or [""]), default=1)
    title_height = 0.2 * lines if (titles or col_titles) else 0.05
    height = (
        width / ncols * aspect * nrows
        + title_height * (nrows if titles else 1)
        + (0.4 if suptitle else 0.0)
    )
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(width, height), squeeze=False, layout="constrained"
    )
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        if i >= n:
            ax.axis("off")
            continue
        img = np.asarray(images[i])
        ax.imshow(img, cmap=cmap or ("gray" if img.ndim == 2 else None))
        if titles is not None:
            ax.set_title(titles[i], fontsize=9, fontweight="normal")
    for ax, title in zip(axes[0], col_titles or [], strict=False):
        ax.set_title(title, fontsize=9, fontweight="normal")
    for ax, title in zip(axes[:, 0], row_titles or [], strict=False):
        # the axis is hidden, its label is not; horizontal, so it fits a short row
        ax.set_ylabel(title, fontsize=9, rotation=0, ha="right", va="center")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_jpeg(fig, quality: int = 85, dpi: int = 100) -> None:
    """Display a figure of photographs as a JPEG and close it.

    Photographs (video frames, COCO images, histology) are 5 to 10 times smaller as JPEG
    than as PNG in a committed notebook; plots with lines and text stay PNG. Used by the
    datasets and vision chapters.
    """
    import io

    import matplotlib.pyplot as plt
    from IPython.display import Image, display

    if not 1 <= quality <= 95:
        raise ValueError(f"quality must be in [1, 95], got {quality}")
    buf = io.BytesIO()
    fig.savefig(
        buf, format="jpeg", dpi=dpi, pil_kwargs={"quality": quality, "optimize": True}
    )
    plt.close(fig)
    display(Image(data=buf.getvalue(), format="jpeg"))
