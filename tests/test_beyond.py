"""Chapter 6's reading of a study (resnet_ode.studies.beyond), on made-up tables with known answers."""
import matplotlib
import pytest

from resnet_ode.studies import beyond

matplotlib.use("Agg")


def _rows(accuracy):
    """A made-up study: nY 8, 16 x T 5, 20 x alpha 1, 2 x seeds 0, 1, each network evaluated at both depths."""
    rows = []
    for n in (8, 16):
        for T in (5.0, 20.0):
            for a in (1.0, 2.0):
                for s in (0, 1):
                    for m in (8, 16):
                        rows.append({"key": f"{n}-{T}-{a}-{s}", "nY": n, "T": T, "alpha": a, "init_seed": s,
                                     "eval_nY": m, "eval_own": m == n, "eval_grid_accuracy": accuracy(n, T, a, s, m),
                                     "final_objective": 0.1 * a, "train_seconds": 1.0})
    return rows


def test_analyse_gives_the_table_the_ranges_and_the_worded_changes():
    # own accuracy 0.9; transfer 0.3 at alpha 1 and 0.5 at alpha 2 at T = 5 (rises), unchanged at T = 20 (mixed)
    def accuracy(n, T, a, s, m):
        if m == n:
            return 0.9
        return 0.3 + (0.2 * (a - 1.0) if T == 5.0 else 0.0)

    a = beyond.analyse(_rows(accuracy), baseline=0.7)
    assert a["n_networks"] == 16 and a["n_rows"] == 32
    assert (a["depths"], a["T"], a["alpha"], a["seeds"]) == ([8, 16], [5.0, 20.0], [1.0, 2.0], [0, 1])
    assert a["own_lo"] == a["own_hi"] == 0.9
    assert a["transfer_mean_lo"] == pytest.approx(0.3) and a["transfer_mean_hi"] == pytest.approx(0.5)
    assert a["transfer_versus_baseline"] == "below"
    assert a["best"] == "T = 5, α = 2" and a["best_transfer"] == pytest.approx(0.5)
    change = a["transfer_change"]
    assert change["5"]["direction"] == "rises" and change["5"]["mean"] == pytest.approx(0.2)
    assert change["20"]["direction"] == "mixed" and change["20"]["mean"] == pytest.approx(0.0)
    assert "at T = 5 it rises for every pair of networks (+0.200 on average)" in a["change_short"]
    assert "at T = 20 it moves in no single direction (+0.000 on average)" in a["change_short"]
    assert a["change_lines"].count("\n") == 1 and "rises for every one of the 4 pairs" in a["change_lines"]
    (table,) = a.tables
    assert [row[:3] for row in table.rows] == [["5", "1", 4], ["5", "2", 4], ["20", "1", 4], ["20", "2", 4]]
    assert table.rows[1][5] == "0.500 (0.500-0.500)"
    assert "scores 0.700" in table.caption


def test_analyse_compares_the_transfer_with_the_baseline():
    a = beyond.analyse(_rows(lambda n, T, a, s, m: 0.9 if m == n else 0.2 + 0.3 * a), baseline=0.6)
    assert a["transfer_versus_baseline"] == "on both sides of"   # 0.5 and 0.8
    a = beyond.analyse(_rows(lambda n, T, a, s, m: 0.95), baseline=0.6)
    assert a["transfer_versus_baseline"] == "above"


def test_analyse_says_per_weight_how_well_the_networks_fit_and_which_do_not_beat_the_baseline():
    # own accuracy 0.9 at alpha 1; at alpha 2 0.8, except nY = 16, T = 20, seed 1 at 0.6 (below the baseline 0.7)
    def accuracy(n, T, a, s, m):
        if m != n:
            return 0.3
        return 0.9 if a == 1.0 else 0.6 if (n, T, s) == (16, 20.0, 1) else 0.8

    a = beyond.analyse(_rows(accuracy), baseline=0.7)
    assert a["own_by_alpha"] == "0.900 to 0.900 at α = 1 and 0.600 to 0.800 at α = 2"
    assert a["own_below"] == 1
    assert a["own_below_text"] == "1 of the 16 networks does not beat it (nY = 16, T = 20, α = 2, seed 1: 0.600)"
    a = beyond.analyse(_rows(accuracy), baseline=0.5)
    assert a["own_below"] == 0 and a["own_below_text"] == "every network beats it"
    a = beyond.analyse(_rows(accuracy), baseline=0.8)    # a tie with the baseline does not beat it
    assert a["own_below"] == 8 and a["own_below_text"].startswith("8 of the 16 networks do not beat it (")


@pytest.mark.parametrize("rows, baseline, needle", [([], 0.5, "rows"), (None, 1.5, "baseline")])
def test_analyse_refuses_bad_input(rows, baseline, needle):
    with pytest.raises(ValueError, match=needle):
        beyond.analyse(_rows(lambda *_: 0.5) if rows is None else rows, baseline=baseline)


def test_the_figures_draw_every_setting():
    a = beyond.analyse(_rows(lambda n, T, al, s, m: 0.9 if m == n else 0.4), baseline=0.7)
    fig = beyond.plot_transfer(a)
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "transfer to the other depths"
    fig = beyond.plot_transfer_matrices(_rows(lambda n, T, al, s, m: 0.9 if m == n else 0.4), a)
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert titles == ["T = 5, α = 1", "T = 5, α = 2", "T = 20, α = 1", "T = 20, α = 2"]
