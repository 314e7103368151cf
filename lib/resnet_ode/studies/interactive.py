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

    def __init__(self, figure, element_id: str, description: str, post_script: str | None = None):
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", element_id or ""):
            raise ValueError(f"element_id must be letters, digits and '-', starting with a letter, got {element_id!r}")
        self.figure = figure
        self.element_id = element_id
        self.description = description
        self.post_script = post_script

    def _repr_html_(self) -> str:
        body = self.figure.to_html(full_html=False, include_plotlyjs=False, div_id=self.element_id,
                                   config={"displaylogo": False, "responsive": True}, post_script=self.post_script)
        return (f'<div class="interactive-figure">{body}'
                f"<noscript><p>{html.escape(self.description)}: the interactive version needs JavaScript; the "
                "static figure above shows the same data.</p></noscript></div>")

    def __repr__(self) -> str:
        return f"interactive figure: {self.description}"


#: Where the default camera of a 3-D scene looks from, in plotly's units (the scene box spans [-1, 1]); far enough
#: out that the box, its tick labels and axis titles fit a scene half the column wide.
CAMERA_EYE = {"x": 2.3, "y": -2.3, "z": 1.45}

#: Shape of the scene box (x, y, z); a flatter box leaves room for the axis titles.
ASPECT = {"x": 1.0, "y": 1.0, "z": 0.75}

# Turns the other scenes of the figure with the one dragged (on every step of a drag and at its end). Plotly
# reports the new camera of the dragged scene under "sceneN.camera"; the copies are applied with a guard so
# that they do not report back.
_LINK_CAMERAS = """
var gd = document.getElementById('{plot_id}');
var scenes = %s, busy = false;
function follow(ev) {
  if (busy || !ev) return;
  var src = null;
  for (var k in ev) { var m = k.match(/^(scene[0-9]*)\\.camera$/); if (m) { src = m[1]; break; } }
  if (src === null) return;
  var upd = {};
  scenes.forEach(function (s) { if (s !== src) upd[s + '.camera'] = ev[src + '.camera']; });
  busy = true;
  Plotly.relayout(gd, upd).then(function () { busy = false; }, function () { busy = false; });
}
gd.on('plotly_relayouting', follow);
gd.on('plotly_relayout', follow);
"""


def surfaces_3d(panels, element_id: str, description: str, z_title: str = "log10 f", x_title: str = "a",
                y_title: str = "b", height: int = 420, link: bool = True):
    """Surfaces side by side in rotatable 3-D scenes on one colour and height scale, values shown on hover.

    The default camera (:data:`CAMERA_EYE`, :data:`ASPECT`) shows every axis
    with its labels; with ``link`` the scenes turn and zoom together, so that a
    comparison stays a comparison from every angle (a few lines of JavaScript
    in the figure's own HTML, nothing loaded).

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
    link : bool
        Rotate all scenes together.

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
    n = len(panels)
    # Leave the right edge to the one colour bar.
    fig = make_subplots(rows=1, cols=n, specs=[[{"type": "scene"}] * n], subplot_titles=[p[0] for p in panels],
                        horizontal_spacing=0.01)
    lo = round(min(float(np.min(p[3])) for p in panels), DIGITS)
    hi = round(max(float(np.max(p[3])) for p in panels), DIGITS)
    for k, (title, x, y, Z) in enumerate(panels, start=1):
        fig.add_trace(go.Surface(x=_rounded(x), y=_rounded(y), z=_rounded(np.asarray(Z).T, DIGITS),
                                 colorscale="Viridis", cmin=lo, cmax=hi, showscale=k == n,
                                 colorbar={"title": {"text": z_title}, "len": 0.75, "thickness": 14, "x": 1.0},
                                 hovertemplate=(f"{x_title} = %{{x}}<br>{y_title} = %{{y}}<br>{z_title} = %{{z}}"
                                                f"<extra>{title}</extra>")),
                      row=1, col=k)
    width = 0.92 / n
    scenes = {f"scene{'' if k == 1 else k}": {
        "domain": {"x": [(k - 1) * width, k * width - 0.01], "y": [0.0, 0.92]},
        "xaxis_title": x_title, "yaxis_title": y_title, "zaxis": {"title": {"text": z_title}, "range": [lo, hi]},
        "aspectmode": "manual", "aspectratio": ASPECT, "camera": {"eye": CAMERA_EYE}} for k in range(1, n + 1)}
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 40, "b": 0}, **scenes)
    for k, annotation in enumerate(fig.layout.annotations):   # the titles over their scenes
        annotation.x = (k + 0.5) * width
    script = _LINK_CAMERAS % list(scenes) if link and n > 1 else None
    return InteractiveFigure(fig, element_id, description, post_script=script)


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
