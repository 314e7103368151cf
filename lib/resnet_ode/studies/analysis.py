"""What one chapter analysis returns: its tables, its numbers and the arrays its figures plot.

Every analysis a Chapter 3 page shows is one function of :mod:`resnet_ode.studies`
returning an :class:`Analysis`. The page shows the tables
(:meth:`resnet_ode.book.numbers.Tables.show_table`), glues the numbers it cites in
its prose, adds them to the numbers record Chapter 4 reads, and plots the arrays; it
computes nothing itself, so that what it prints is what the package's tests check.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from resnet_ode.util.formatting import Table


@dataclass
class Analysis:
    """Tables, numbers and figure data of one analysis.

    Parameters
    ----------
    tables : list of Table
        The tables in the order the page shows them.
    numbers : dict
        JSON-able values (floats, ints, strings, nested lists and dicts): what the
        page glues into its prose and writes to its numbers record.
    arrays : dict
        What the page's figures plot (numpy arrays of any shape, run objects);
        not written anywhere.

    Raises
    ------
    TypeError
        If an entry of ``tables`` is not a :class:`~resnet_ode.util.formatting.Table`.
    """

    tables: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)

    def __post_init__(self):
        for table in self.tables:
            if not isinstance(table, Table):
                raise TypeError(f"tables: expected Table objects, got {type(table).__name__}")

    def __getitem__(self, key):
        """The number ``key`` (``analysis["deep_offdiag"]``)."""
        return self.numbers[key]
