"""How durations and small numbers are printed, so that compared notebook outputs repeat on any machine.

Kept apart from the report code so that the training code does not depend on it.

Durations depend on the machine. A notebook prints them only in cells tagged
``volatile``: such a cell's outputs are shown in the built book but are not
committed (:func:`resnet_ode.book.notebooks.clean_notebook` strips them) and not
compared by nbval (the cleaner also tags the cell ``nbval-ignore-output``).
Every other output is compared exactly, with no sanitiser.

``RESNET_ODE_DURATION_SCALE`` multiplies every duration printed through
:func:`fmt_seconds`. It is a test hook: ``make nbval`` runs the notebook checks
with a scale of 1000, so a duration that leaked into a compared output (or
into the width of a column) changes its digits and fails the check.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np


def duration_scale() -> float:
    """The factor of ``RESNET_ODE_DURATION_SCALE`` (1 when unset).

    Raises
    ------
    ValueError
        If the variable is set to something other than a positive finite number.
    """
    raw = os.environ.get("RESNET_ODE_DURATION_SCALE", "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = float("nan")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"RESNET_ODE_DURATION_SCALE must be a positive finite number, got {raw!r}")
    return scale


def fmt_seconds(seconds: float) -> str:
    """Format a duration as ``"12.3 s"`` (times :func:`duration_scale`).

    Print durations only through this function and only in cells tagged
    ``volatile`` (see the module docstring).
    """
    return f"{seconds * duration_scale():.1f} s"


def fmt_small(value: float, floor: float, digits: int = 2) -> str:
    """``value`` with ``digits`` significant digits, or ``"< floor"`` when ``|value| < floor``.

    For quantities whose size is round-off (an asymmetry of ``1e-8``, a
    residual at the solver tolerance): their digits differ between machines,
    a bound does not.

    Examples
    --------
    >>> fmt_small(2.5e-9, 1e-8)
    '< 1e-08'
    >>> fmt_small(0.0123, 1e-8)
    '0.012'
    """
    if not (isinstance(floor, (int, float)) and floor > 0):
        raise ValueError(f"floor must be a positive number, got {floor!r}")
    if abs(value) < floor:
        return f"< {floor:.0e}"
    return f"{value:.{digits}g}"


def round_significant(value: float, digits: int = 6) -> float:
    """``value`` rounded (not truncated) to ``digits`` significant digits.

    Non-finite values and zero are returned unchanged.
    """
    if not math.isfinite(value) or value == 0:
        return float(value)
    return float(f"{value:.{digits - 1}e}")


def format_table(headers, rows, floatfmt: str = "{:.4f}") -> str:
    """Rows of values as an aligned text table (floats with ``floatfmt``, strings as they are)."""
    cells = [[str(h) for h in headers]] + [
        [floatfmt.format(v) if isinstance(v, (float, np.floating)) else str(v) for v in row] for row in rows
    ]
    widths = [max(len(r[c]) for r in cells) for c in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_timed_table(headers, rows, durations, floatfmt: str = "{:.4f}") -> str:
    """:func:`format_table` with duration columns appended unpadded at the end of each line.

    Durations (seconds, printed by :func:`fmt_seconds`) vary between runs;
    the notebook checks replace them by a placeholder, so no column may be
    aligned on their width.

    Parameters
    ----------
    headers : list of str
        Headers of the aligned columns, then one per duration column.
    rows : list of list
        Aligned cells of every row.
    durations : list of list of float
        Seconds of every row, one per duration column.
    floatfmt : str
        Format of the floats among the aligned cells.

    Returns
    -------
    str
        The table, one line per row after the header and rule lines.
    """
    n_timed = len(durations[0]) if durations else 0
    lines = format_table(headers[: len(headers) - n_timed], rows, floatfmt).split("\n")
    timed = [headers[len(headers) - n_timed:], ["-" * len(h) for h in headers[len(headers) - n_timed:]]]
    timed += [[fmt_seconds(t) for t in ts] for ts in durations]
    return "\n".join(line + "  " + "  ".join(cells) for line, cells in zip(lines, timed))


#: Tables with more rows than this are shown in a box that scrolls (about this many rows high), their header
#: row kept in view; their text form and CSV keep every row.
SCROLL_ROWS = 20


class Table:
    """A result table: text for the terminal and nbval, HTML for the book, CSV for the published data.

    Parameters
    ----------
    headers : sequence of str
        Column headers (units in brackets where a column has one).
    rows : sequence of sequence
        The cells, one sequence per row, each as long as ``headers``.
    caption : str
        What the table shows, in a sentence: rendered above the HTML table and
        as the first line of the text form.
    floatfmt : str or sequence of str
        Format of float cells, one for all columns or one per column
        (``None`` for a column: floats there are shown with ``"{:.4f}"``).
    label : str
        The table's number, shown in front of the caption (``"Table 3.1.02."``;
        :class:`resnet_ode.book.numbers.Tables` sets it to match the table's CSV
        file). Empty: no number.

    Raises
    ------
    ValueError
        If a row's length differs from the number of headers, the caption is
        empty, or ``floatfmt`` has another length than ``headers``.

    Examples
    --------
    >>> t = Table(["nY", "accuracy"], [[8, 0.98765]], caption="Own accuracy", floatfmt="{:.3f}")
    >>> print(t)
    Own accuracy
    nY  accuracy
    --  --------
     8     0.988
    >>> t.to_csv()
    'nY,accuracy\\n8,0.98765\\n'
    """

    def __init__(self, headers, rows, caption: str, floatfmt="{:.4f}", label: str = ""):
        self.label = str(label).strip()
        self.headers = [str(h) for h in headers]
        self.rows = [list(r) for r in rows]
        if not isinstance(caption, str) or not caption.strip():
            raise ValueError("caption must be a non-empty string saying what the table shows")
        self.caption = caption.strip()
        n = len(self.headers)
        bad = [i for i, r in enumerate(self.rows) if len(r) != n]
        if bad:
            raise ValueError(f"rows {bad} do not have {n} cells (one per header)")
        if isinstance(floatfmt, str):
            floatfmt = [floatfmt] * n
        if len(floatfmt) != n:
            raise ValueError(f"floatfmt must be one format or {n} (one per header), got {len(floatfmt)}")
        self.floatfmt = [f or "{:.4f}" for f in floatfmt]

    def cells(self) -> list[list[str]]:
        """Every row as the strings shown (floats formatted)."""
        return [[self.floatfmt[c].format(v) if isinstance(v, (float, np.floating)) else str(v)
                 for c, v in enumerate(row)] for row in self.rows]

    @property
    def text(self) -> str:
        """The aligned text table (as :func:`format_table`) without the caption."""
        cells = [self.headers] + self.cells()
        widths = [max(len(r[c]) for r in cells) for c in range(len(self.headers))]
        lines = ["  ".join(s.rjust(w) for s, w in zip(r, widths)) for r in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def numbered(self, label: str) -> "Table":
        """A copy of this table with ``label`` (``"Table 3.1.02."``) in front of its caption."""
        import copy

        table = copy.copy(self)
        table.label = str(label).strip()
        return table

    def __str__(self) -> str:
        return f"{self.label + ' ' if self.label else ''}{self.caption}\n{self.text}"

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        def numeric(s):
            # A number, with at most an interval or a unit after it, is right-aligned; a sentence that starts
            # with a number ("32 layers, every one of ...") is prose and stays left-aligned.
            try:
                float(s.split(" ")[0].replace("\u2212", "-"))
            except ValueError:
                return False
            return re.search(r"[^\W\d_]{3,}", s) is None

        long = len(self.rows) > SCROLL_ROWS
        # A long table scrolls in a box about SCROLL_ROWS rows high, its header row kept in view.
        sticky = (' style="position: sticky; top: 0; z-index: 1; '
                  'background: var(--pst-color-background, #fff);"' if long else "")
        head = "".join(f"<th{sticky}>{html.escape(h)}</th>" for h in self.headers)
        body = "".join(
            "<tr>" + "".join(f'<td style="text-align: {"right" if numeric(s) else "left"}">{html.escape(s)}</td>'
                             for s in row) + "</tr>"
            for row in self.cells())
        caption = ((f'<span class="table-number">{html.escape(self.label)}</span> ' if self.label else "")
                   + html.escape(self.caption)
                   + (f" {len(self.rows)} rows, in a box that scrolls." if long else ""))
        # The wrapper scrolls a table wider than the page instead of letting it overflow the column.
        box = f" max-height: {SCROLL_ROWS * 2 + 4}em; overflow-y: auto;" if long else ""
        if long:   # the caption above the box, so that it stays in view while the rows scroll
            return (f'<p class="result-table-caption">{caption}</p>'
                    f'<div class="result-table" style="overflow-x: auto; max-width: 100%;{box}">'
                    '<table class="table result-table" style="width: auto;">'
                    f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")
        return ('<div class="result-table" style="overflow-x: auto; max-width: 100%;">'
                '<table class="table result-table" style="width: auto;">'
                f'<caption style="caption-side: top; text-align: left;">{caption}</caption>'
                f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")

    def to_csv(self) -> str:
        """The table as CSV: headers, then the values (floats unformatted, as ``repr``)."""
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.headers)
        for row in self.rows:
            writer.writerow([repr(float(v)) if isinstance(v, (float, np.floating)) else v for v in row])
        return out.getvalue()


def in_words(items) -> str:
    """``items`` as a list in a sentence: "a", "a and b", "a, b and c" (each item as ``str``).

    Raises
    ------
    ValueError
        If ``items`` is empty.
    """
    items = [str(x) for x in items]
    if not items:
        raise ValueError("items: nothing to list")
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
