"""Chapter 3.0's table of the Peaks data (resnet_ode.studies.peaks_summary)."""
import numpy as np

from resnet_ode.core.data import make_peaks_dataset, peaks_grid
from resnet_ode.studies import heldout
from resnet_ode.studies.peaks_summary import data_summary


def test_the_table_adds_up_and_agrees_with_the_held_out_measures():
    grid, data = peaks_grid(), make_peaks_dataset(n_train_per_class=30, n_val_per_class=20, seed=4)
    a = data_summary(grid, data)
    (table,) = a.tables
    *rows, total = table.rows
    assert [r[0] for r in rows] == [0, 1, 2, 3, 4] and total[0] == "all"
    for column in (3, 5, 7, 8, 9):                        # grid, training, validation, overlap, held out
        assert sum(r[column] for r in rows) == total[column]
    assert [r[3] for r in rows] == grid.class_counts().tolist()
    assert all(r[5] == 30 and r[7] == 20 and 1 <= r[6] <= 30 for r in rows)
    assert all(r[2] == nxt[1] for r, nxt in zip(rows, rows[1:]))           # the intervals meet
    assert rows[0][1] == grid.values.min() and rows[-1][2] == grid.values.max()
    overlap = heldout.validation_overlap(data.X_train, data.X_val, data.y_val)
    X_held, _ = heldout.heldout_set(data.X_train)
    n = a.numbers
    assert n["val_overlap"] == overlap.count == total[8] and n["n_heldout"] == X_held.shape[1] == total[9]
    assert n["n_heldout"] + n["n_distinct_train"] == n["n_grid"] == grid.labels.size
    assert n["n_distinct_train"] == np.unique(data.X_train, axis=1).shape[1] == total[6]
    assert n["grid_majority_share"] == max(r[4] for r in rows) and n["grid_balanced_baseline"] == 0.2
    assert n["share_max"] == 100 * n["grid_majority_share"]


def test_the_book_data_as_chapter_3_0_states_them():
    n = data_summary(peaks_grid(), make_peaks_dataset(1000, 40, seed=0)).numbers
    assert (n["n_train"], n["n_distinct_train"], n["n_val"], n["val_overlap"], n["n_heldout"]) == (5000, 4376, 200, 50, 61160)
    assert round(n["grid_majority_share"], 3) == 0.726
