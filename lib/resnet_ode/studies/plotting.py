"""Figures shared by the chapters.

Functions draw on axes they are given (or create a figure and return it) and
compute nothing expensive themselves: pass them results from
:mod:`resnet_ode.studies.evaluation`, :mod:`resnet_ode.training.runs` and
:mod:`resnet_ode.studies.landscape` (whose surfaces :func:`plot_contour` and
:func:`plot_surface_3d` draw).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.patches import Rectangle

#: One colour per Peaks class (colour-blind safe, from the Okabe-Ito palette).
CLASS_COLOURS = ["#0072B2", "#56B4E9", "#F0E442", "#E69F00", "#D55E00"]


def class_cmap(n_classes: int = 5):
    """Discrete colour map and norm for class labels ``0 .. n_classes-1``."""
    cmap = ListedColormap(CLASS_COLOURS[:n_classes])
    return cmap, BoundaryNorm(np.arange(-0.5, n_classes), n_classes)


def plot_points(ax, X, y, size: float = 6.0, edge: bool = True, alpha: float = 1.0):
    """Scatter points (columns of ``X``, shape (2, n)) coloured by class ``y``."""
    cmap, norm = class_cmap(int(np.max(y)) + 1 if len(y) else 5)
    return ax.scatter(X[0], X[1], c=y, cmap=cmap, norm=norm, s=size, alpha=alpha,
                      edgecolors="k" if edge else "none", linewidths=0.3 if edge else 0)


def add_class_legend(where, n_classes: int = 5, **kwargs):
    """A legend of the Peaks classes (one coloured square per class) on an Axes or a Figure.

    Parameters
    ----------
    where : matplotlib Axes or Figure
        On a figure the legend goes below the panels unless ``loc`` and
        ``bbox_to_anchor`` are given.
    n_classes : int
        Classes ``0 .. n_classes-1``.
    **kwargs
        Passed to ``legend`` (``loc``, ``fontsize``, ``ncol``, ...).
    """
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=CLASS_COLOURS[c], edgecolor="k", linewidth=0.5, label=f"class {c}")
               for c in range(n_classes)]
    if hasattr(where, "add_subplot"):  # a Figure: below its panels, clear of their axis labels
        kwargs = {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0), "ncol": n_classes, **kwargs}
    kwargs.setdefault("title", "class")
    return where.legend(handles=handles, labels=[str(c) for c in range(n_classes)], **kwargs)


def plot_label_image(ax, labels, extent, alpha: float = 1.0):
    """Show a grid of class labels, shape (n, n) with row = x2, column = x1."""
    cmap, norm = class_cmap(5)
    return ax.imshow(labels, origin="lower", extent=extent, cmap=cmap, norm=norm, alpha=alpha,
                     interpolation="nearest")


def plot_prediction_map(ax, pred, extent, X=None, y=None, point_size: float = 4.0, title: str | None = None,
                        axes: bool = False, fontsize: float = 8):
    """Predicted classes on a grid with optional labelled points on top.

    Parameters
    ----------
    ax : matplotlib Axes
    pred : ndarray, shape (n, n)
        Class of every grid point (row: x2, column: x1).
    extent : tuple (x1 min, x1 max, x2 min, x2 max)
    X : ndarray, shape (2, m), optional
        Points drawn on top, coloured by their class ``y`` (shape (m,)).
    point_size : float
    title : str, optional
    axes : bool
        Label the axes ``x_1`` and ``x_2`` and keep their ticks (a map of
        its own); without, ticks are removed (a panel of a grid of maps).
    fontsize : float
        Size of the title (points).
    """
    plot_label_image(ax, pred, extent, alpha=0.85)
    if X is not None:
        plot_points(ax, X, y, size=point_size)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_aspect("equal")
    if axes:
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def plot_cross_maps(maps, depths, extent, X=None, y=None, accuracy=None, figsize=(11, 11.5)):
    """Grid of prediction maps: row ``i`` = weights trained at ``depths[i]``, column ``j`` = network of ``depths[j]``.

    Parameters
    ----------
    maps : ndarray, shape (k, k, n, n)
    depths : sequence of int, length k
    accuracy : ndarray, shape (k, k), optional
        Printed in each panel's title.
    """
    k = len(depths)
    fig, axes = plt.subplots(k, k, figsize=figsize, squeeze=False)
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            title = f"acc {accuracy[i, j]:.3f}" if accuracy is not None else None
            plot_prediction_map(ax, maps[i, j], extent, X, y, point_size=2.0, title=title)
            if i == j:
                for side in ax.spines.values():
                    side.set_edgecolor("crimson")
                    side.set_linewidth(2.5)
            if i == 0:
                ax.annotate(f"network nY={depths[j]}", xy=(0.5, 1.25), xycoords="axes fraction", ha="center",
                            fontsize=9, fontweight="bold")
            if j == 0:
                ax.set_ylabel(f"weights\nnY={depths[i]}", fontsize=9, fontweight="bold")
    fig.tight_layout()
    return fig


def plot_matrix(ax, M, row_labels, col_labels, fmt: str = "{:.3f}", cmap: str = "viridis", vmin=None, vmax=None,
                mark_diagonal: bool = True, colorbar_label: str | None = None):
    """Heat map of a matrix with every entry written in its cell and the diagonal outlined."""
    im = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(M.shape[1]), [str(c) for c in col_labels])
    ax.set_yticks(range(M.shape[0]), [str(r) for r in row_labels])
    lo, hi = (np.nanmin(M) if vmin is None else vmin), (np.nanmax(M) if vmax is None else vmax)
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            dark = (M[i, j] - lo) < 0.5 * (hi - lo)
            ax.text(j, i, fmt.format(M[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if dark else "black")
    if mark_diagonal:
        for d in range(min(M.shape)):
            ax.add_patch(Rectangle((d - 0.5, d - 0.5), 1, 1, fill=False, edgecolor="crimson", linewidth=2.5))
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if colorbar_label:
        cb.set_label(colorbar_label)
    return im


def plot_history(history, axes=None, label: str | None = None, x: str = "iteration"):
    """Objective (log scale) and training/validation accuracy against iterations (or ``x="seconds"``).

    Returns the two axes.
    """
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    xs = history[x]
    axes[0].semilogy(xs, history["objective"], label=label)
    axes[0].set_xlabel(x)
    axes[0].set_ylabel("objective")
    axes[0].grid(True, which="both", alpha=0.3)
    line = axes[1].plot(xs, history["val_accuracy"], label=(f"{label}: validation" if label else "validation"))[0]
    axes[1].plot(xs, history["train_accuracy"], linestyle="--", color=line.get_color(),
                 label=(f"{label}: training" if label else "training"))
    axes[1].set_xlabel(x)
    axes[1].set_ylabel("accuracy")
    axes[1].grid(True, alpha=0.3)
    return axes


def plot_time_grids(axes, run, depths, entry=(0, 0)):
    """The control and state time grids, and one trained weight on them (the book's thesis Figure 3.2).

    Parameters
    ----------
    axes : sequence of two matplotlib Axes
        Left: the grids, one row for the control times and one per depth.
        Right: the weight ``K[entry](t)`` of ``run`` at its control times,
        its linear interpolant, and the values each depth's Euler steps use.
    run : resnet_ode.training.trainer.RunResult
        A trained network with interpolated control (its ``T`` and ``nt``
        set the grids).
    depths : sequence of int
        Numbers of state times ``nY`` to show.
    entry : (int, int)
        Which entry of ``K`` to draw.
    """
    from resnet_ode.core.timegrid import interpolation_matrix, uniform_times

    ode = run.model.ode
    if run.config.control != "interpolated":
        raise ValueError("plot_time_grids needs a run with control='interpolated'")
    T, s = run.config.T, ode.control_times
    ax, ax_w = axes
    rows = [("control times\n$n_t$ = %d" % len(s), s, "k", "D")]
    for i, n in enumerate(depths):
        rows.append((f"state times\n$n_Y$ = {n}", uniform_times(T, n), f"C{i}", "o"))
    for k, (label, times, colour, marker) in enumerate(rows):
        y = len(rows) - 1 - k
        ax.hlines(y, 0, T, color="0.8", lw=1)
        ax.plot(times, np.full(len(times), y), marker, color=colour, ms=4 if marker == "o" else 5, ls="none")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in rows][::-1], fontsize=8)
    ax.set_xlim(-0.03 * T, 1.03 * T)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel("time $t$")
    ax.set_title("where the weights live and where each network uses them", fontsize=9)

    _, K, _ = run.model.split(run.theta)  # K: (nt, nc, nc)
    values = K[:, entry[0], entry[1]]
    fine = np.linspace(0, T, 801)
    ax_w.plot(fine, interpolation_matrix(s, fine) @ values, color="0.5", lw=1, label="linear interpolant")
    ax_w.plot(s, values, "D", color="k", ms=5, label="control values (trained)")
    for i, n in enumerate(depths):
        t = uniform_times(T, n)[:-1]  # an Euler step uses the weights at the start of the step
        ax_w.plot(t, interpolation_matrix(s, t) @ values, "o", color=f"C{i}", ms=7 - 3 * i / max(1, len(depths) - 1),
                  mfc="none", mew=1.2,
                  label=f"used by the $n_Y$ = {n} network")
    ax_w.set_xlabel("time $t$")
    ax_w.set_ylabel(f"$K_{{{entry[0] + 1}{entry[1] + 1}}}(t)$")
    ax_w.set_title(f"one weight of the network trained with $n_Y$ = {run.config.nY}", fontsize=9)
    ax_w.legend(fontsize=8, loc="best")
    return axes


def plot_contour(ax, surface, levels: int = 25, title: str | None = None, colorbar: bool = True):
    """Filled contours of ``log10 f`` over ``(a, b)`` with contour lines; the centre is marked ``+``.

    Parameters
    ----------
    ax : matplotlib Axes
    surface : resnet_ode.studies.landscape.Surface
        ``values`` of shape (na, nb) over ``a`` (na,) and ``b`` (nb,).
    levels : int
        Filled levels (every second one gets a contour line).
    title : str, optional
    colorbar : bool

    Returns
    -------
    matplotlib.contour.QuadContourSet
    """
    Z = np.log10(surface.values).T  # rows: b, columns: a
    cs = ax.contourf(surface.a, surface.b, Z, levels=levels, cmap="viridis")
    ax.contour(surface.a, surface.b, Z, levels=cs.levels[::2], colors="k", linewidths=0.35)
    ax.plot([0], [0], "+", color="w", ms=8, mew=1.5)
    ax.set_xlabel("$a$ (along $d_1$)")
    ax.set_ylabel("$b$ (along $d_2$)")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    if colorbar:
        plt.colorbar(cs, ax=ax, shrink=0.85, label="$\\log_{10} f$")
    return cs


def plot_surface_3d(ax, surface, title: str | None = None):
    """3-D surface of ``log10 f`` over ``(a, b)``.

    Parameters
    ----------
    ax : mpl_toolkits.mplot3d.Axes3D
        A 3-D axes (``projection="3d"``).
    surface : resnet_ode.studies.landscape.Surface
        ``values`` of shape (na, nb) over ``a`` (na,) and ``b`` (nb,).
    title : str, optional
    """
    A, B = np.meshgrid(surface.a, surface.b, indexing="ij")
    ax.plot_surface(A, B, np.log10(surface.values), cmap="viridis", linewidth=0, antialiased=True,
                    rstride=1, cstride=1)
    ax.set_xlabel("$a$")
    ax.set_ylabel("$b$")
    ax.set_zlabel("$\\log_{10} f$")
    ax.view_init(elev=35, azim=-60)
    if title:
        ax.set_title(title, fontsize=9)


#: Width in pixels of an image in the book's content column at an 800 px browser window (measured
#: in Chromium; 756 px at 1400 px): a wider image is scaled down to it. The narrower of the two
#: widths the browser test reads the book at, so a figure legible here is legible at both.
BOOK_COLUMN_PX = 705

#: Smallest text a figure may show on screen, in pixels.
MIN_TEXT_PX = 9.0

#: Key of the PNG text chunk in which :func:`show` records the height of the figure's smallest
#: text in the PNG's own pixels; the browser test scales it to the size the page shows the image.
PNG_TEXT_KEY = "Smallest text px"


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def shown_scale(fig, column_px: float = BOOK_COLUMN_PX) -> float:
    """Factor by which the page scales the figure's PNG (tight bounding box, ``fig.dpi``) into the column."""
    renderer = fig.canvas.get_renderer()
    width_px = (fig.get_tightbbox(renderer).width + 2 * plt.rcParams["savefig.pad_inches"]) * fig.dpi
    return min(1.0, column_px / width_px)


def smallest_text_px(fig, column_px: float = BOOK_COLUMN_PX) -> float:
    """Height in screen pixels of the figure's smallest text (font size) as the book shows the figure."""
    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in _texts(fig)]
    return min(sizes) * fig.dpi / 72 * shown_scale(fig, column_px) if sizes else float("inf")


def legible(fig, min_px: float = MIN_TEXT_PX, column_px: float = BOOK_COLUMN_PX, layout: bool = True):
    """Enlarge every text of ``fig`` that the book would show smaller than ``min_px`` pixels; return the figure.

    The book shows a figure's PNG (its tight bounding box at ``fig.dpi``)
    scaled down to the content column when it is wider, so a font of ``s``
    points is ``s * dpi / 72 * column / width`` pixels high on screen. Titles,
    labels, tick labels (through ``tick_params``, so ticks made later follow),
    legends, annotations and colour-bar ticks below the needed size are set to
    it; larger texts are left alone. Then the layout is redone
    (``tight_layout``, unless the figure has a layout engine) and the check is
    repeated, since larger texts widen the figure a little.

    Parameters
    ----------
    fig : matplotlib Figure
    min_px : float
        Smallest text height on screen, pixels (> 0).
    column_px : float
        Width of the content column, pixels (> 0).
    layout : bool
        Redo the layout after enlarging.

    Raises
    ------
    ValueError
        If ``min_px`` or ``column_px`` is not positive.
    """
    if not (min_px > 0 and column_px > 0):
        raise ValueError(f"min_px and column_px must be positive, got min_px={min_px}, column_px={column_px}")
    for _ in range(3):
        fig.canvas.draw()
        need = min_px / shown_scale(fig, column_px) * 72 / fig.dpi
        small = [t for t in _texts(fig) if t.get_fontsize() < need - 1e-9]
        if not small:
            break
        for ax in fig.axes:
            for axis in ("x", "y", "z") if hasattr(ax, "get_zticklabels") else ("x", "y"):
                labels = getattr(ax, f"get_{axis}ticklabels")()
                if labels and min(lab.get_fontsize() for lab in labels) < need:
                    ax.tick_params(axis=axis, labelsize=need)
        for t in small:
            t.set_fontsize(need)
        if layout and fig.get_layout_engine() is None:
            fig.tight_layout()
    return fig


def png_bytes(fig) -> bytes:
    """The figure as the book shows it: a PNG of its tight bounding box at ``fig.dpi``.

    The PNG carries, in a text chunk named :data:`PNG_TEXT_KEY`, the height of the
    figure's smallest text in the PNG's pixels (font size in points times
    ``dpi / 72``), from which the browser test computes its height on screen.
    """
    import io

    fig.canvas.draw()
    sizes = [t.get_fontsize() for t in _texts(fig)]
    smallest = min(sizes) * fig.dpi / 72 if sizes else float("inf")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={PNG_TEXT_KEY: f"{smallest:.2f}"})
    return buffer.getvalue()


def show(fig=None, **kwargs):
    """Make ``fig`` (default: the current figure) legible in the book with :func:`legible`, then show it.

    The figure is shown as the PNG of :func:`png_bytes` (which records its smallest text for
    the browser test) and closed. Keyword arguments go to :func:`legible`.
    """
    from IPython.display import Image, display

    fig = plt.gcf() if fig is None else fig
    legible(fig, **kwargs)
    display(Image(png_bytes(fig)))
    plt.close(fig)
