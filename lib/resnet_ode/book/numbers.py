"""The key numbers of each chapter, written by the build to ``_build/numbers``.

Two builds can be compared by diffing these files. Values are plain JSON
(lists, floats, ints, strings).
"""

from __future__ import annotations

import numpy as np

from resnet_ode.util.formatting import Table, fmt_seconds, fmt_small, format_table, round_significant  # noqa: F401  (re-exported: chapters import them from here)
from resnet_ode.util.paths import numbers_dir
from resnet_ode.util.storage import atomic_path, write_json


def to_jsonable(value):
    """Convert numpy scalars and arrays (also nested in dicts and lists) to plain JSON types."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


def write_numbers(chapter: str, data: dict):
    """Write ``_build/numbers/chapter-<chapter>.json`` atomically and return its path.

    A ``_meta`` entry records the hash of the training code the numbers were
    computed with, so that :func:`read_numbers` can refuse stale ones.
    """
    from resnet_ode.training.runs import source_hash

    payload = {**to_jsonable(data), "_meta": {"training_source": source_hash()}}
    return write_json(numbers_dir() / f"chapter-{chapter}.json", payload)


def read_numbers(chapter: str) -> dict:
    """The key numbers a chapter wrote in this build.

    Raises
    ------
    FileNotFoundError
        If the chapter has not written them (execute it first: the book
        build executes the chapters in order, Chapter 4 after Chapter 3).
    RuntimeError
        If they were computed with other training code than the current one.
    """
    import json

    from resnet_ode.training.runs import source_hash

    path = numbers_dir() / f"chapter-{chapter}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: execute Chapter {chapter} first (make book does)")
    data = json.loads(path.read_text())
    if data.get("_meta", {}).get("training_source") != source_hash():
        raise RuntimeError(f"{path} was computed with other training code: execute Chapter {chapter} again")
    return data


#: Significant digits of a float stored by :func:`glue`.
GLUE_DIGITS = 6


def glue(name: str, value, display: bool = False):
    """myst-nb's ``glue`` with floats rounded to :data:`GLUE_DIGITS` significant digits.

    The glued value is part of the cell's outputs, which nbval compares: a
    full-precision float repr can differ in its last digits between machines
    (summation order), six significant digits do not, and the prose never
    shows more. Floats nested in lists, tuples and dicts are rounded as well;
    other values are glued as they are.
    """
    from myst_nb import glue as _glue

    return _glue(name, _rounded(value), display=display)


def prose_values(numbers: dict, decimals: int | None = None, overrides: dict | None = None,
                 prefix: str = "") -> dict:
    """The scalar numbers of an analysis as a page's prose shows them: floats rounded as its tables round them.

    A float glued at full precision and formatted in the prose can round the
    other way than the table beside it (a value just below ``0.3285`` glued as
    ``0.3285`` reads ``0.329`` while the table shows ``0.328``); rounded here to
    the table's decimals first, both show the same digits.

    Parameters
    ----------
    numbers : dict
        An analysis's ``numbers`` (name -> value).
    decimals : int or None
        Decimals of the floats (the tables' ``{:.3f}`` is 3); None leaves them to :func:`glue`'s
        :data:`GLUE_DIGITS` significant digits.
    overrides : dict, optional
        Name -> decimals for numbers shown with other decimals.
    prefix : str
        Put before every name (two analyses of the same kind glued on one page).

    Returns
    -------
    dict
        Name -> float, int, bool or string; lists, dicts and arrays are left out.
    """
    overrides = overrides or {}
    out = {}
    for key, value in numbers.items():
        if not isinstance(value, (str, bool, int, float, np.bool_, np.integer, np.floating)):
            continue
        places = overrides.get(key, decimals)
        if isinstance(value, (float, np.floating)) and places is not None:
            value = round(float(value), places)
        out[prefix + key] = value
    return out


class PageGlue:
    """Glues the numbers of a page's analyses for its prose, each name once.

    A name two analyses share would leave the prose showing one of them, so
    a second glue of a name raises.

    Parameters
    ----------
    decimals : int or None
        As in :func:`prose_values`, for every analysis the page glues.

    Examples
    --------
    >>> glue_numbers = PageGlue(decimals=3)          # in a page's first code cell
    >>> glue_numbers(analysis, prefix="ref_")        # doctest: +SKIP
    """

    def __init__(self, decimals: int | None = None):
        self.decimals = decimals
        self.names: set = set()

    def __call__(self, analysis, prefix: str = "", overrides: dict | None = None) -> None:
        """Glue the scalar numbers of ``analysis`` (anything with a ``numbers`` dict).

        Returns nothing, so that a call at the end of a notebook cell shows nothing; :attr:`names` holds what was
        glued.
        """
        values = prose_values(analysis.numbers, self.decimals, overrides, prefix)
        twice = sorted(self.names & values.keys())
        if twice:
            raise ValueError(f"these numbers are glued twice on this page: {twice}; give one analysis a prefix")
        self.names.update(values)
        for key, value in values.items():
            glue(key, value, display=False)


def _rounded(value):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (float, np.floating)):
        return round_significant(float(value), GLUE_DIGITS)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_rounded(v) for v in value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def _slug(text: str, limit: int = 48) -> str:
    import re

    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > limit:  # whole words only
        words = words[: limit + 1].rsplit("-", 1)[0] if "-" in words[: limit + 1] else words[:limit]
    return words.rstrip("-") or "table"


class Tables:
    """The result tables of one page: shown as HTML tables, each also written as CSV for the published data.

    Parameters
    ----------
    chapter : str or None
        Chapter key (``"3.1"``): the CSV files go to
        ``_build/numbers/chapter-<chapter>/NN-<caption words>.csv`` (``NN``: the
        table's place on the page), and the book build publishes them under
        ``data/`` (:mod:`resnet_ode.book.sitedata`). ``None`` (run pages): shown only.

    Notes
    -----
    The chapter's CSV files of an earlier execution are removed when the
    object is made, so the folder holds exactly this execution's tables.
    """

    def __init__(self, chapter: str | None):
        self.chapter = chapter
        self.count = 0
        if chapter is not None:
            folder = self.folder()
            if folder.is_dir():
                for old in folder.glob("*.csv"):
                    old.unlink()

    def folder(self):
        return numbers_dir() / f"chapter-{self.chapter}"

    def show(self, caption: str, headers, rows, floatfmt="{:.4f}") -> None:
        """Display ``Table(headers, rows, caption, floatfmt)`` and write its CSV.

        Returns nothing, so that a call ending a cell does not show the table twice.
        """
        self.show_table(Table(headers, rows, caption=caption, floatfmt=floatfmt))

    def show_table(self, table: Table) -> None:
        """Display a prebuilt ``table`` (an analysis's, :class:`resnet_ode.studies.analysis.Analysis`) and write its CSV."""
        from IPython.display import display

        self.count += 1
        if self.chapter is not None:
            table = table.numbered(self.label(self.count))
            with atomic_path(self.folder() / self.file_name(self.count, table.caption)) as tmp:
                tmp.write_text(table.to_csv())
        display(table)

    def label(self, number: int) -> str:
        """``"Table <chapter>.<NN>."``: the label of the ``number``-th table of the page."""
        return f"Table {self.chapter}.{number:02d}."

    @staticmethod
    def file_name(number: int, caption: str) -> str:
        """``NN-<caption words>.csv``: the CSV file of the ``number``-th table of the page."""
        return f"{number:02d}-{_slug(caption)}.csv"
