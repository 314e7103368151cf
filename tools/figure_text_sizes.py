"""How large the text of every figure is as the book shows it: the smallest text of each figure in screen pixels.

Executes notebooks (not in place: nothing is written) with every figure the
inline backend renders measured first: the smallest font size of its visible
texts (titles, labels, tick labels, legends, annotations, colour-bar ticks),
converted to pixels of the PNG the page shows and then to pixels on screen,
where an image wider than the content column is scaled down to the column.

    .venv/bin/python tools/figure_text_sizes.py [--column 756] [--min-px 8] NOTEBOOK...

Prints one row per figure (notebook, cell, figure name from the cell's
``mystnb.figure.name``, PNG width, smallest text in points and in screen
pixels, the text itself) and exits with status 1 if a figure's smallest text
is below ``--min-px``. Training runs come from the run cache as in the book
build. The column width is that of the book's content column at a 1400 px
window (measured in Chromium); pass another with ``--column``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

# Runs first in the kernel: every PNG of a figure goes through measure() before it is made.
_HOOK = r'''
import base64, io, json
import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.text import Text
get_ipython().run_line_magic("matplotlib", "inline")
_fmt = get_ipython().display_formatter.formatters["image/png"]
_png = _fmt.lookup_by_type(Figure)
_SIZES = []

def _measure(fig, *args, **kwargs):
    data = _png(fig, *args, **kwargs)
    if data:
        raw = base64.b64decode(data) if isinstance(data, str) else data
        from PIL import Image
        width = Image.open(io.BytesIO(raw)).size[0]
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
                 and t.get_window_extent().width > 0]
        if texts:
            small = min(texts, key=lambda t: t.get_fontsize())
            _SIZES.append({"cell": globals().get("_CELL"), "width": width, "dpi": fig.dpi,
                           "pt": small.get_fontsize(), "text": small.get_text()[:40]})
    return data

_fmt.for_type(Figure, _measure)
'''


def measure(path: Path, timeout: int) -> list[dict]:
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):  # each cell says which it is (the figure's cell when it is shown)
        if cell.cell_type == "code":
            cell.source = f"_CELL = {i}\n" + cell.source
    nb.cells.insert(0, nbformat.v4.new_code_cell(_HOOK))
    nb.cells.append(nbformat.v4.new_code_cell("print('SIZES=' + json.dumps(_SIZES))"))
    NotebookClient(nb, timeout=timeout, resources={"metadata": {"path": str(path.parent)}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("output_type") == "stream")
    sizes = json.loads(out.split("SIZES=", 1)[1])
    original = nbformat.read(path, as_version=4)
    for s in sizes:
        meta = original.cells[s["cell"]].metadata if s["cell"] is not None else {}
        s["name"] = meta.get("mystnb", {}).get("figure", {}).get("name", "")
    return sizes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--column", type=float, default=756.0, help="content column width in px (default 756)")
    parser.add_argument("--min-px", type=float, default=8.0, help="smallest text allowed on screen, px (default 8)")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args(argv)
    if args.column <= 0:
        parser.error(f"--column must be a positive width in px, got {args.column}")
    small = 0
    print(f"{'notebook':28s} {'cell':>4s} {'figure':28s} {'PNG px':>6s} {'pt':>5s} {'screen px':>9s}  text")
    for path in args.notebooks:
        for s in measure(path, args.timeout):
            png_px = s["pt"] * s["dpi"] / 72
            screen = png_px * min(1.0, args.column / s["width"])
            flag = "  <-- small" if screen < args.min_px else ""
            small += bool(flag)
            print(f"{path.name:28s} {s['cell']!s:>4s} {s['name'][:28]:28s} {s['width']:6d} {s['pt']:5.1f} "
                  f"{screen:9.1f}  {json.dumps(s['text'])}{flag}")
    print(f"{small} figure(s) with text below {args.min_px:g} px at a {args.column:g} px column")
    return 1 if small else 0


if __name__ == "__main__":
    sys.exit(main())
