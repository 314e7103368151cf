"""Command line: run sweeps and single runs through papermill, execute notebooks, manage the cache.

Examples
--------
Re-execute the Chapter 3.1 run pages (unchanged runs come from the cache)::

    resnet-ode sweep 3.1

Rerun Chapter 3.1 with another final time and other depths: its run pages,
its chapter page and the table of contents are updated for the next build::

    resnet-ode rerun 3.1 --set T=10 --param "depths=[8, 32, 64, 128]"

Back to the book's settings::

    resnet-ode rerun 3.1 --defaults

One run with new parameters into a notebook of its own::

    resnet-ode run --set nY=48 --set integrator=rk4 --output my-run.ipynb
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
from pathlib import Path

from . import __version__


def _parse_sets(items) -> dict:
    from .runs import RunConfig

    out = {}
    allowed = RunConfig.fields()
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"error: --set expects NAME=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key not in allowed:
            raise SystemExit(f"error: unknown parameter {key!r}; allowed parameters: {', '.join(allowed)}")
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw
        out[key] = value
    return out


def _configs_or_exit(build):
    try:
        return build()
    except (TypeError, ValueError) as exc:
        raise SystemExit(f"error: {exc}") from None


def _sweep_or_exit(name):
    from .experiments import SWEEPS

    if name not in SWEEPS:
        raise SystemExit(f"error: unknown chapter {name!r}; chapters with runs: {', '.join(SWEEPS)}")
    return SWEEPS[name]


def _parse_params(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise SystemExit(f"error: --param expects NAME=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise SystemExit(f"error: --param {key}: {raw!r} is not a Python literal (e.g. [8, 16] or 2.5)") from None
    return out


def cmd_sweep(args):
    from .experiments import SWEEPS
    from .notebooks import run_sweeps

    names = list(SWEEPS) if args.chapter == ["all"] else args.chapter
    sweeps = [_sweep_or_exit(name) for name in names]
    # Every run of every chapter is validated before anything executes.
    pairs = [(sweep, _configs_or_exit(sweep.configs)) for sweep in sweeps]
    for path in run_sweeps(pairs, jobs=args.jobs):
        print(path)


def cmd_rerun(args):
    import time

    from .experiments import chapter_parameters
    from .notebooks import execute_chapter, run_sweep, update_toc
    from .paths import repo_root

    t0 = time.perf_counter()
    sweep = _sweep_or_exit(args.chapter)
    root = repo_root()
    notebook = root / sweep.notebook
    if args.defaults:
        from .experiments import notebook_parameters
        import nbformat

        params = notebook_parameters(nbformat.read(notebook, as_version=4), tags=("parameters",))
    else:
        params = chapter_parameters(notebook)
    new = _parse_params(args.param)
    unknown = set(new) - set(params)
    if unknown:
        raise SystemExit(f"error: unknown parameter(s) {sorted(unknown)} of {sweep.notebook}; "
                         f"its parameters: {', '.join(params)}")
    params.update(new)
    changes = _parse_sets(args.set)
    if changes:
        if "changes" not in params:
            raise SystemExit(f"error: {sweep.notebook} takes no run settings (--set)")
        params["changes"] = {**params["changes"], **changes}
    # Every run is validated before anything executes.
    configs = _configs_or_exit(lambda: sweep.configs(params))
    run_sweep(sweep, configs, jobs=args.jobs)
    stale = update_toc(sweep, configs)
    for page in stale:
        (root / f"{page}.ipynb").unlink(missing_ok=True)
    execute_chapter(notebook, params)
    print(f"{sweep.notebook} and {len(configs)} run pages re-executed in {time.perf_counter() - t0:.0f} s"
          f"{f'; removed {len(stale)} stale run pages' if stale else ''}. Build the HTML with: make html")


def cmd_run(args):
    from .experiments import RUN_TEMPLATE
    from .notebooks import execute_template, run_parameters
    from .paths import repo_root
    from .runs import RunConfig

    changes = _parse_sets(args.set)
    config = _configs_or_exit(lambda: RunConfig(**changes))
    root = repo_root()
    template = root / RUN_TEMPLATE
    output = Path(args.output) if args.output else root / "book" / "chapter3" / "runs" / f"run-{config.label().replace(' ', '-').replace('=', '')}.ipynb"
    print(execute_template(template, output, run_parameters(config, template)))


def cmd_execute(args):
    from .notebooks import execute_in_place

    for path in args.notebooks:
        print(execute_in_place(path, timeout=args.timeout))


def cmd_cache(args):
    from .paths import cache_dir
    from .runs import source_hash

    folder = cache_dir()
    entries = sorted(folder.glob("run-*.npz"))
    if args.action == "info":
        size = sum(p.stat().st_size for p in entries)
        print(f"{folder}: {len(entries)} runs, {size / 1e6:.1f} MB; library source {source_hash()[:12]}")
    elif args.action == "clear":
        shutil.rmtree(folder)
        print(f"removed {folder}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="resnet-ode", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sweep", help="execute chapters' run pages through papermill (their current parameters)")
    p.add_argument("chapter", nargs="+", help="chapters, e.g. 3.1 3.2, or all")
    p.add_argument("--jobs", type=int, default=2, help="runs executed in parallel (default 2)")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("rerun", help="rerun a chapter with new parameters: its runs, its page, the table of contents")
    p.add_argument("chapter", help="chapter, e.g. 3.1")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="a chapter parameter, e.g. depths=[8,32,128] (repeatable)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a run setting applied to every run of the chapter, e.g. T=10 (repeatable)")
    p.add_argument("--defaults", action="store_true", help="start from the chapter's default parameters")
    p.add_argument("--jobs", type=int, default=2, help="runs executed in parallel (default 2)")
    p.set_defaults(func=cmd_rerun)

    p = sub.add_parser("run", help="execute one run through papermill")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="run setting (repeatable)")
    p.add_argument("--output", help="output notebook (default: book/chapter3/runs/run-<label>.ipynb)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("execute", help="execute notebooks in place (to commit them with outputs)")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    p.set_defaults(func=cmd_execute)

    p = sub.add_parser("cache", help="inspect or clear the run cache")
    p.add_argument("action", choices=["info", "clear"])
    p.set_defaults(func=cmd_cache)

    args = parser.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
