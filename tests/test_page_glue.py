"""The one way a page glues its analyses' numbers: rounded as the tables round them, each name once."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from resnet_ode.book import numbers
from resnet_ode.book.numbers import PageGlue, prose_values


def test_prose_values_round_as_the_tables_do():
    # just below 0.3285: the table shows 0.328; glued at six significant digits it would read 0.329
    got = prose_values({"x": 0.32849999, "gap": 1.23456, "n": "5", "count": np.int64(3), "m": [1.0],
                        "arr": np.zeros(2), "d": {"a": 1.0}, "flag": True}, 3, overrides={"gap": 2}, prefix="p_")
    assert got == {"p_x": 0.328, "p_gap": 1.23, "p_n": "5", "p_count": 3, "p_flag": True}
    assert f"{got['p_x']:.3f}" == f"{0.32849999:.3f}" == "0.328"
    assert prose_values({"x": 0.32849999, "y": np.float64(2.5)}) == {"x": 0.32849999, "y": 2.5}   # None: as they are


def test_a_page_glues_each_name_once(monkeypatch):
    glued = []
    monkeypatch.setattr(numbers, "glue", lambda name, value, display=False: glued.append((name, value, display)))
    page = PageGlue(decimals=2)
    first = SimpleNamespace(numbers={"acc": 0.8766, "seeds": 5, "curve": [0.1, 0.2]})
    assert page(first) is None                     # shows nothing at the end of a cell
    page(first, prefix="ref_")
    assert glued == [("acc", 0.88, False), ("seeds", 5, False), ("ref_acc", 0.88, False), ("ref_seeds", 5, False)]
    assert page.names == {"acc", "seeds", "ref_acc", "ref_seeds"}
    with pytest.raises(ValueError, match=r"glued twice on this page: \['acc'\]"):
        page(SimpleNamespace(numbers={"acc": 0.5, "other": 1.0}))
    assert len(glued) == 4                         # nothing of the refused analysis was glued
    page(first, prefix="x_", overrides={"acc": 3})
    assert glued[-2:] == [("x_acc", 0.877, False), ("x_seeds", 5, False)]
