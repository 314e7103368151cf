import numpy as np
import pytest

from resnet_ode.core.data import make_peaks_dataset, peaks, peaks_grid, sample_per_class

REFERENCE_COUNTS = [1829, 7968, 47557, 6384, 1798]


def test_peaks_function_at_known_points():
    # f(0, 0) = (3 - 1/3) / e; f is MATLAB's peaks, with x1 varying along columns.
    assert peaks(0.0, 0.0) == pytest.approx((3 - 1 / 3) / np.e, rel=1e-14)
    assert peaks(1.0, 0.0) == pytest.approx(-10 * (1 / 5 - 1) * np.exp(-1) - np.exp(-4) / 3, rel=1e-14)


def test_grid_class_counts_match_reference():
    grid = peaks_grid()
    assert grid.labels.shape == (256, 256)
    assert grid.class_counts().tolist() == REFERENCE_COUNTS


def test_bins_have_equal_width_and_minimum_is_class_zero():
    grid = peaks_grid()
    widths = np.diff(np.concatenate([[grid.values.min()], grid.edges, [grid.values.max()]]))
    assert np.allclose(widths, widths[0])
    assert grid.labels.ravel()[np.argmin(grid.values)] == 0
    assert grid.labels.ravel()[np.argmax(grid.values)] == 4


def test_dataset_sizes_balance_and_membership():
    data = make_peaks_dataset(1000, 40, seed=0)
    assert data.X_train.shape == (2, 5000) and data.X_val.shape == (2, 200)
    assert np.bincount(data.y_train).tolist() == [1000] * 5
    assert np.bincount(data.y_val).tolist() == [40] * 5
    grid = peaks_grid()
    # Every drawn point is a grid point of its class.
    t = np.linspace(-3, 3, 256)
    i1 = np.searchsorted(t, data.X_train[0] - 1e-12)
    i2 = np.searchsorted(t, data.X_train[1] - 1e-12)
    assert np.allclose(t[i1], data.X_train[0]) and np.allclose(t[i2], data.X_train[1])
    assert np.array_equal(grid.labels[i2, i1], data.y_train)


def test_draws_are_seeded_with_replacement_and_independent():
    a = make_peaks_dataset(1000, 40, seed=0)
    b = make_peaks_dataset(1000, 40, seed=0)
    c = make_peaks_dataset(1000, 40, seed=1)
    assert np.array_equal(a.X_train, b.X_train) and np.array_equal(a.X_val, b.X_val)
    assert not np.array_equal(a.X_train, c.X_train)
    # Class 4 has 1798 grid points; 1000 draws with replacement repeat some.
    cls4 = a.X_train[:, a.y_train == 4]
    assert np.unique(cls4, axis=1).shape[1] < 1000
    # Validation is not the first 200 training draws.
    assert not np.array_equal(a.X_val, a.X_train[:, :200])


def test_sample_per_class_rejects_bad_count(rng):
    with pytest.raises(ValueError, match="n_per_class"):
        sample_per_class(peaks_grid(), 0, rng)
