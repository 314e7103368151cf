"""Interactive figures (rotate, zoom, read values by hovering) for the loss surfaces and the cross-evaluation.

Drawn with plotly (pinned in ``requirements.txt``). A figure is shown in a
notebook as HTML that calls ``Plotly.newPlot`` but does not carry plotly's
JavaScript: the book build copies ``plotly.min.js`` from the installed package
and loads it on the pages that hold such a figure
(:mod:`resnet_ode.book.sphinxext`), so nothing is fetched from another host.
Every such figure stands next to a static image of the same data, for print and
for readers without JavaScript.

The HTML is part of the notebook outputs nbval compares, so it must repeat on
any machine: the values are rounded (:data:`DIGITS` decimals of ``log10`` values,
six significant digits otherwise) and the element id is given, not random.
"""

from __future__ import annotations

import html
import re

import numpy as np

#: Decimals kept of the ``log10`` values of a surface (a relative change of 2e-4 in ``f``).
DIGITS = 4


def _rounded(values, decimals: int | None = None) -> list:
    a = np.asarray(values, dtype=float)
    if decimals is not None:
        return np.round(a, decimals).tolist()
    return [float(f"{v:.6g}") for v in a.ravel()] if a.ndim == 1 else [_rounded(row) for row in a]


class InteractiveFigure:
    """A plotly figure as notebook output: HTML for the book, one line of text elsewhere.

    Parameters
    ----------
    figure : plotly.graph_objects.Figure
    element_id : str
        Id of the figure's HTML element, unique on its page (letters, digits, ``-``).
    description : str
        What the figure shows, for the text form and for readers without JavaScript.

    Raises
    ------
    ValueError
        If ``element_id`` is not made of letters, digits and ``-``.
    """

    def __init__(self, figure, element_id: str, description: str):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", element_id or ""):
            raise ValueError(f"element_id must be letters, digits and '-', starting with a letter, got {element_id!r}")
        self.figure = figure
        self.element_id = element_id
        self.description = description

    def _repr_html_(self) -> str:
        body = self.figure.to_html(full_html=False, include_plotlyjs=False, div_id=self.element_id,
                                   config={"displaylogo": False, "responsive": True})
        return (f'<div class="interactive-figure">{body}'
                f"<noscript><p>{html.escape(self.description)}: the interactive version needs JavaScript; the "
                "static figure above shows the same data.</p></noscript></div>")

    def __repr__(self) -> str:
        return f"interactive figure: {self.description}"


def surfaces_3d(panels, element_id: str, description: str, z_title: str = "log10 f", x_title: str = "a",
                y_title: str = "b", height: int = 520):
    """Surfaces side by side, each in its own rotatable 3-D scene, with the values shown on hover.

    Parameters
    ----------
    panels : sequence of (str, ndarray, ndarray, ndarray)
        ``(title, x, y, Z)`` per surface: ``x`` (nx,), ``y`` (ny,), ``Z`` (nx, ny)
        already on the scale to show (e.g. ``log10 f``).
    element_id, description : str
        See :class:`InteractiveFigure`.
    z_title, x_title, y_title : str
        Labels of the axes (and of the values on hover).
    height : int
        Height in pixels (> 0).

    Returns
    -------
    InteractiveFigure

    Raises
    ------
    ValueError
        If ``panels`` is empty, a ``Z`` does not have shape ``(len(x), len(y))``
        or ``height`` is not positive.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    panels = list(panels)
    if not panels:
        raise ValueError("panels must hold at least one (title, x, y, Z)")
    if not (isinstance(height, int) and height > 0):
        raise ValueError(f"height must be a positive number of pixels, got {height!r}")
    for title, x, y, Z in panels:
        if np.shape(Z) != (len(x), len(y)):
            raise ValueError(f"{title}: Z has shape {np.shape(Z)}, expected (len(x), len(y)) = ({len(x)}, {len(y)})")
    fig = make_subplots(rows=1, cols=len(panels), specs=[[{"type": "scene"}] * len(panels)],
                        subplot_titles=[p[0] for p in panels], horizontal_spacing=0.02)
    lo = min(float(np.min(p[3])) for p in panels)
    hi = max(float(np.max(p[3])) for p in panels)
    for k, (title, x, y, Z) in enumerate(panels, start=1):
        fig.add_trace(go.Surface(x=_rounded(x), y=_rounded(y), z=_rounded(np.asarray(Z).T, DIGITS),
                                 colorscale="Viridis", cmin=round(lo, DIGITS), cmax=round(hi, DIGITS),
                                 showscale=k == len(panels), colorbar={"title": {"text": z_title}, "len": 0.8},
                                 hovertemplate=(f"{x_title} = %{{x}}<br>{y_title} = %{{y}}<br>{z_title} = %{{z}}"
                                                f"<extra>{title}</extra>")),
                      row=1, col=k)
    scenes = {f"scene{'' if k == 1 else k}": {"xaxis_title": x_title, "yaxis_title": y_title, "zaxis_title": z_title,
                                                 "camera": {"eye": {"x": 1.4, "y": -1.4, "z": 1.0}}}
              for k in range(1, len(panels) + 1)}
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 40, "b": 0}, **scenes)
    return InteractiveFigure(fig, element_id, description)


def matrix_heatmap(M, row_labels, col_labels, element_id: str, description: str, hover=None,
                   x_title: str = "", y_title: str = "", value_title: str = "value", zmin=None, zmax=None,
                   height: int = 460):
    """A matrix as a heat map whose cells give their value (and ``hover`` text) under the pointer.

    Parameters
    ----------
    M : ndarray, shape (m, n)
    row_labels : sequence of length m
    col_labels : sequence of length n
    element_id, description : str
        See :class:`InteractiveFigure`.
    hover : ndarray of str, shape (m, n), optional
        Extra text per cell (e.g. the spread over seeds).
    x_title, y_title, value_title : str
        Axis titles and the name of the value.
    zmin, zmax : float, optional
        Colour range.
    height : int
        Height in pixels (> 0).

    Returns
    -------
    InteractiveFigure

    Raises
    ------
    ValueError
        If the labels or ``hover`` do not fit the shape of ``M``, or ``height``
        is not positive.
    """
    import plotly.graph_objects as go

    if not (isinstance(height, int) and height > 0):
        raise ValueError(f"height must be a positive number of pixels, got {height!r}")
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or len(row_labels) != M.shape[0] or len(col_labels) != M.shape[1]:
        raise ValueError(f"M has shape {M.shape}; row_labels ({len(row_labels)}) and col_labels "
                         f"({len(col_labels)}) must match it")
    if hover is not None and np.shape(hover) != M.shape:
        raise ValueError(f"hover has shape {np.shape(hover)}, expected {M.shape}")
    rows, cols = [str(r) for r in row_labels], [str(c) for c in col_labels]
    text = [[f"{v:.3f}" for v in row] for row in M]
    custom = hover if hover is not None else np.full(M.shape, "")
    fig = go.Figure(go.Heatmap(
        z=_rounded(M, 6), x=cols, y=rows, text=text, texttemplate="%{text}", customdata=np.asarray(custom).tolist(),
        colorscale="Viridis", zmin=zmin, zmax=zmax, colorbar={"title": {"text": value_title}},
        hovertemplate=f"{y_title} %{{y}}<br>{x_title} %{{x}}<br>{value_title} %{{text}}<br>%{{customdata}}<extra></extra>"))
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 10, "b": 0},
                      xaxis={"title": {"text": x_title}, "type": "category"},
                      yaxis={"title": {"text": y_title}, "type": "category", "autorange": "reversed"})
    return InteractiveFigure(fig, element_id, description)
