"""Command line: run sweeps and single runs through papermill, execute notebooks, manage the cache.

Examples
--------
Re-execute the Chapter 3.1 runs (unchanged runs come from the cache)::

    resnet-ode sweep 3.1

The same sweep with another final time and seed, written where the book
picks it up::

    resnet-ode sweep 3.1 --set T=10 --set init_seed=3

One run with new parameters into a notebook of its own::

    resnet-ode run --set nY=48 --set integrator=rk4 --output book/chapter3/runs/my-run.ipynb
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


def cmd_sweep(args):
    from .experiments import sweeps
    from .notebooks import run_sweep

    changes = _parse_sets(args.set)
    all_sweeps = _configs_or_exit(lambda: sweeps(**changes))
    if args.chapter not in all_sweeps:
        raise SystemExit(f"error: unknown sweep {args.chapter!r}; allowed: {', '.join(all_sweeps)}")
    sweep = all_sweeps[args.chapter]
    only = None
    if args.nY:
        only = [c for c in sweep.configs if c.nY in set(args.nY)]
        missing = set(args.nY) - {c.nY for c in only}
        if missing:
            only += _configs_or_exit(lambda: [sweep.configs[0].replace(nY=n) for n in sorted(missing)])
    for path in run_sweep(sweep, jobs=args.jobs, only=only):
        print(path)


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

    p = sub.add_parser("sweep", help="execute a chapter's runs through papermill into the book")
    p.add_argument("chapter", help="sweep name, e.g. 3.1")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="change a run setting (repeatable)")
    p.add_argument("--nY", type=int, action="append", help="only these depths (repeatable)")
    p.add_argument("--jobs", type=int, default=2, help="runs executed in parallel (default 2)")
    p.set_defaults(func=cmd_sweep)

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
