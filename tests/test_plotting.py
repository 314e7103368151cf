"""Figures as the book shows them: text sizes on screen, the class legend, maps with axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from resnet_ode.studies import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _wide_small_figure():
    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for ax in axes:
        ax.plot([1, 2, 3], label="a line")
        ax.set_title("title", fontsize=7)
        ax.legend(fontsize=6)
        ax.tick_params(labelsize=6)
    cs = axes[-1].contourf(np.random.default_rng(0).random((5, 5)))
    fig.colorbar(cs, ax=axes[-1]).ax.tick_params(labelsize=5)
    fig.tight_layout()
    return fig


def test_smallest_text_px_follows_the_scaling_into_the_column():
    fig = _wide_small_figure()
    px = plotting.smallest_text_px(fig)
    # 5 pt is 5 * dpi / 72 px in the PNG, whose width is the tight box plus the padding on both sides
    width = (fig.get_tightbbox(fig.canvas.get_renderer()).width + 2 * plt.rcParams["savefig.pad_inches"]) * fig.dpi
    assert width > 1500
    assert px == pytest.approx(5 * fig.dpi / 72 * plotting.BOOK_COLUMN_PX / width)
    assert px < 4
    # the same figure in a column as wide as its PNG is not scaled
    assert plotting.smallest_text_px(fig, column_px=10_000) == pytest.approx(5 * fig.dpi / 72)


def test_legible_enlarges_every_small_text_and_keeps_large_ones():
    fig = _wide_small_figure()
    big = fig.suptitle("a large title", fontsize=30)
    plotting.legible(fig, min_px=8.5)
    assert plotting.smallest_text_px(fig) >= 8.5 - 1e-6
    assert big.get_fontsize() == 30
    # tick labels made after the call (a new draw) keep the larger size
    fig.axes[0].set_xticks([1.0, 1.5, 2.0, 2.5, 3.0])
    assert plotting.smallest_text_px(fig) >= 8.5 - 1e-6


def test_legible_leaves_a_figure_that_is_already_legible_alone():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_title("t", fontsize=12)
    ax.tick_params(labelsize=11)
    before = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)]
    plotting.legible(fig)
    assert [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)] == before


@pytest.mark.parametrize("kwargs", [{"min_px": 0}, {"column_px": -1}])
def test_legible_refuses_sizes_that_are_not_positive(kwargs):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="must be positive"):
        plotting.legible(fig, **kwargs)


def test_class_legend_names_every_class_in_its_colour():
    fig, ax = plt.subplots()
    legend = plotting.add_class_legend(ax)
    assert [t.get_text() for t in legend.get_texts()] == ["0", "1", "2", "3", "4"]
    assert legend.get_title().get_text() == "class"
    colours = [matplotlib.colors.to_hex(h.get_facecolor()) for h in legend.legend_handles]
    assert colours == [c.lower() for c in plotting.CLASS_COLOURS]
    assert plotting.add_class_legend(fig, 3).get_texts()[-1].get_text() == "2"   # on a figure, below the panels


def test_a_prediction_map_of_its_own_has_labelled_axes():
    pred = np.zeros((4, 4), dtype=int)
    fig, (alone, panel) = plt.subplots(1, 2)
    plotting.plot_prediction_map(alone, pred, (-3, 3, -3, 3), axes=True)
    plotting.plot_prediction_map(panel, pred, (-3, 3, -3, 3))
    assert (alone.get_xlabel(), alone.get_ylabel()) == ("$x_1$", "$x_2$") and len(alone.get_xticks()) > 0
    assert len(panel.get_xticks()) == 0 and panel.get_xlabel() == ""


# ----------------------------------------------------------------------------
# interactive figures
# ----------------------------------------------------------------------------


def test_interactive_surfaces_are_rounded_repeatable_html_without_plotly_js():
    from resnet_ode.studies import interactive

    a = np.linspace(-1, 1, 5)
    Z = np.log10(1 + np.add.outer(a**2, 2 * a**2)) + 1e-13  # round-off-level noise
    make = lambda Z: interactive.surfaces_3d([("8 layers", a, a, Z), ("20 layers", a, a, 2 * Z)],  # noqa: E731
                                             "surf-test", "two surfaces")._repr_html_()
    page = make(Z)
    assert page == make(Z + 3e-12)                          # digits below the rounding do not show
    assert 'id="surf-test"' in page and "Plotly.newPlot" in page and "<noscript>" in page
    assert "cdn" not in page.lower() and "<script src" not in page   # no JavaScript fetched from anywhere
    assert repr(interactive.surfaces_3d([("s", a, a, Z)], "x1", "one surface")) == "interactive figure: one surface"


def test_interactive_figures_refuse_bad_input():
    from resnet_ode.studies import interactive

    a = np.arange(3.0)
    with pytest.raises(ValueError, match="Z has shape \\(3, 2\\), expected"):
        interactive.surfaces_3d([("s", a, a, np.zeros((3, 2)))], "ok", "d")
    with pytest.raises(ValueError, match="panels must hold at least one"):
        interactive.surfaces_3d([], "ok", "d")
    with pytest.raises(ValueError, match="element_id must be"):
        interactive.surfaces_3d([("s", a, a, np.zeros((3, 3)))], "1 bad id", "d")
    with pytest.raises(ValueError, match="row_labels \\(2\\) and col_labels \\(3\\) must match"):
        interactive.matrix_heatmap(np.zeros((3, 3)), [1, 2], [1, 2, 3], "m", "d")
    with pytest.raises(ValueError, match="hover has shape"):
        interactive.matrix_heatmap(np.zeros((2, 2)), [1, 2], [1, 2], "m", "d", hover=np.full((1, 2), "x"))
    for height in (0, -5, 2.5):
        with pytest.raises(ValueError, match="height must be a positive number of pixels"):
            interactive.matrix_heatmap(np.zeros((2, 2)), [1, 2], [1, 2], "m", "d", height=height)
        with pytest.raises(ValueError, match="height must be a positive number of pixels"):
            interactive.surfaces_3d([("s", a, a, np.zeros((3, 3)))], "ok", "d", height=height)


def test_the_heat_map_gives_every_cell_its_value_and_hover_text():
    from resnet_ode.studies import interactive

    M = np.array([[0.98765, 0.2], [0.3, 0.99]])
    fig = interactive.matrix_heatmap(M, [8, 16], [8, 16], "cross", "accuracies", hover=np.array([["a", "b"], ["c", "d"]]),
                                     value_title="accuracy")
    trace = fig.figure.data[0]
    assert [list(r) for r in trace.text] == [["0.988", "0.200"], ["0.300", "0.990"]]
    assert [list(r) for r in trace.customdata] == [["a", "b"], ["c", "d"]]
    assert "accuracy %{text}" in trace.hovertemplate


def test_show_records_the_smallest_text_in_the_png():
    fig = _wide_small_figure()
    plotting.legible(fig)
    data = plotting.png_bytes(fig)
    chunks, pos = {}, 8
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        if kind == b"tEXt":
            key, _, value = data[pos + 8:pos + 8 + length].partition(b"\0")
            chunks[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    recorded = float(chunks[plotting.PNG_TEXT_KEY])
    width = int.from_bytes(data[16:20], "big")  # the IHDR chunk's width
    # on screen, scaled into the narrower column, the smallest text is at least the minimum
    assert recorded * min(1.0, plotting.BOOK_COLUMN_PX / width) >= plotting.MIN_TEXT_PX - 0.05
