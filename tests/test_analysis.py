"""The result of a chapter analysis and how a page shows its tables."""
import pytest

from resnet_ode.studies.analysis import Analysis
from resnet_ode.util.formatting import Table


def test_analysis_holds_tables_numbers_and_arrays():
    t = Table(["nY", "accuracy"], [[8, 0.98765]], caption="Own accuracy", floatfmt="{:.3f}")
    a = Analysis(tables=[t], numbers={"best": 0.98765}, arrays={"m": [[1.0]]})
    assert a["best"] == 0.98765
    assert a.tables[0].caption == "Own accuracy"


def test_analysis_refuses_what_is_not_a_table():
    with pytest.raises(TypeError, match="tables"):
        Analysis(tables=[["nY", "accuracy"]])


def test_show_table_writes_the_csv_of_a_prebuilt_table(tmp_path, monkeypatch):
    from resnet_ode.book import numbers

    monkeypatch.setattr(numbers, "numbers_dir", lambda: tmp_path)
    tables = numbers.Tables("9.9")
    tables.show_table(Table(["nY", "accuracy"], [[8, 0.98765]], caption="Own accuracy", floatfmt="{:.3f}"))
    (csv,) = (tmp_path / "chapter-9.9").glob("*.csv")
    assert csv.name == "01-own-accuracy.csv"
    assert "0.988" in csv.read_text() or "0.98765" in csv.read_text()
