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

A study: every combination of the grid, trained where missing, one results table::

    resnet-ode study --grid nY=8,16 --grid T=10,20 --grid init_seed=0,1 --set max_iter=20 --output my-study

The same tasks on a Dask cluster (or with ``RESNET_ODE_SCHEDULER`` set)::

    resnet-ode study --file study.toml --scheduler tcp://127.0.0.1:8786

Run pages too: the runs train on the cluster's workers, the pages execute
there, and this process writes them::

    resnet-ode sweep 3.1 3.2 --scheduler tcp://127.0.0.1:8786

One run with new parameters into a notebook of its own::

    resnet-ode run --set nY=48 --set integrator=rk4 --output my-run.ipynb

Exit status: 0 on success; 2 for a mistake on the command line or in the
environment (one ``error: ...`` line, before anything is computed or
written); 1 when a notebook cell raises, a kernel or a worker process dies,
a cell runs over its ``--timeout``, an output cannot be written (checked
before any work) or a disk fills up (one ``error: ...``
line, :mod:`resnet_ode.book.failures`); 128 + the signal after Ctrl-C (130), SIGTERM (143) or
SIGHUP (129), after the kernels and worker processes were stopped and the
temporary files removed (pages not finished keep their previous content).
"""

from __future__ import annotations

import argparse
import ast
import signal
import sys
import threading
from pathlib import Path

from resnet_ode import __version__
from resnet_ode.book import datacmds
from resnet_ode.book.errors import UsageError
from resnet_ode.book.failures import (
    CommandFailed,
    cache_warnings_as_lines,
    check_writable,
    outside_failure_text,
    os_error_text,
    quiet_kernel_death,
    report_cache_warnings,
)
from resnet_ode.book.pagetasks import PageError


_SCHEDULER_HELP = ("a Dask scheduler, e.g. tcp://127.0.0.1:8786, to train on its workers instead of local processes "
                   "(default: $RESNET_ODE_SCHEDULER if set)")

_PAGES_SCHEDULER_HELP = ("a Dask scheduler, e.g. tcp://127.0.0.1:8786: the missing runs train on its workers, then "
                         "the run pages execute there and are written here, instead of local processes "
                         "(default: $RESNET_ODE_SCHEDULER if set)")


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C's ``KeyboardInterrupt`` so that the same clean-up runs."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)


def _literal(raw: str):
    """The Python literal ``raw`` (``10``, ``[8, 16]``, ``'rk4'``), or a float for ``nan``, ``inf``, ``-inf``.

    Raises ``ValueError`` when it is neither.
    """
    text = raw.strip()
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        return float(text)  # 'nan', 'inf', '-inf', 'infinity': literal_eval refuses them, float does not
    except ValueError:
        raise ValueError(f"{raw!r} is not a Python literal") from None


def _parse_sets(items) -> dict:
    from resnet_ode.training.runs import RunConfig

    out = {}
    allowed = RunConfig.fields()
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--set expects NAME=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        key = key.strip()
        if key not in allowed:
            raise UsageError(f"unknown parameter {key!r}; allowed parameters: {', '.join(allowed)}")
        try:
            value = _literal(raw)
        except ValueError:
            value = raw.strip()  # a bare word: a string setting such as integrator=rk4
        out[key] = value
    return out


def _checked(build):
    """``build()``, with its ``TypeError``/``ValueError`` (a bad parameter) turned into a :class:`UsageError`."""
    try:
        return build()
    except (TypeError, ValueError, OverflowError) as exc:
        raise UsageError(str(exc)) from None


def _sweep_or_exit(name):
    from resnet_ode.book.experiments import SWEEPS

    if name not in SWEEPS:
        raise UsageError(f"unknown chapter {name!r}; chapters with runs: {', '.join(SWEEPS)}")
    return SWEEPS[name]


def _chapter_notebook(sweep):
    from resnet_ode.util.paths import repo_root

    path = repo_root() / sweep.notebook
    if not path.is_file():
        raise UsageError(f"{path} not found: run resnet-ode from the repository, or set RESNET_ODE_ROOT to it")
    return path


def _parse_params(items) -> dict:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"--param expects NAME=VALUE, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            out[key.strip()] = _literal(raw)
        except ValueError:
            raise UsageError(f"--param {key.strip()}: {raw!r} is not a Python literal (e.g. [8, 16] or 2.5)") from None
    return out


def _count(text: str, what: str, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= hi:
        raise argparse.ArgumentTypeError(f"must be an integer in [1, {hi}] ({what}), got {text!r}")
    return value


def _jobs(text: str) -> int:
    return _count(text, "runs at a time", 256)


def _jobs_help(what: str, cores: int) -> str:
    return f"{what}, >= 1 (default: the cores this process may use, {cores} here; each gets cores // jobs workers)"


def _default_jobs() -> int:
    """The default of ``--jobs``: every core this process may use (each job then gets ``cores // jobs`` workers)."""
    from resnet_ode.book.executors import available_cores

    return available_cores()


def _timeout(text: str) -> int:
    return _count(text, "seconds per cell", 10**7)


def _validated_chapters(chapters) -> list:
    """``(sweep, parameters, page runs)`` of each chapter named (or ``all``), every one validated before any work."""
    from resnet_ode.book.experiments import SWEEPS, chapter_parameters

    names = list(SWEEPS) if "all" in chapters else list(dict.fromkeys(chapters))
    out = []
    for sweep in [_sweep_or_exit(name) for name in names]:
        params = chapter_parameters(_chapter_notebook(sweep))
        out.append((sweep, params, _checked(lambda: sweep.validate(params))))
    return out


def cmd_sweep(args):
    from resnet_ode.book.sweeps import run_sweeps

    pairs = [(sweep, configs) for sweep, _, configs in _validated_chapters(args.chapter)]
    _check_pages_writable(sweep for sweep, _ in pairs)
    with _executor(args) as executor:
        paths = run_sweeps(pairs, jobs=args.jobs, executor=executor)
    for path in paths:
        print(path)
    report_cache_warnings(*paths)


def _check_pages_writable(sweeps, chapters: bool = False):
    """The folders of the sweeps' run pages (and of their chapter pages) can be written, checked before any work."""
    from resnet_ode.util.paths import repo_root

    for sweep in sweeps:
        check_writable((repo_root() / sweep.output).parent, "the folder of the run pages")
        if chapters:
            check_writable(repo_root() / sweep.notebook, "the chapter page file")


_executor = datacmds.command_executor  # one way to get a command's executor


def cmd_train(args):
    from resnet_ode.book.executors import task_workers
    from resnet_ode.training.tasks import train_runs

    configs = list(dict.fromkeys(c for sweep, params, _ in _validated_chapters(args.chapter)
                                 for c in _checked(lambda: sweep.all_runs(params))))
    with _executor(args) as executor:  # the workers return their runs, this process stores them
        trained = train_runs(executor, configs, task_workers(executor))
    print(f"{len(configs)} runs: {trained} trained, {len(configs) - trained} already in the cache")


def cmd_study(args):
    from resnet_ode.book.executors import task_workers
    from resnet_ode.studies.study import build_spec, run_study
    from resnet_ode.util.paths import repo_root

    spec = _checked(lambda: build_spec(args.grid, args.set, args.file))
    configs = _checked(spec.configs)
    output = Path(args.output).absolute() if args.output else repo_root() / "_build" / "study"
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output must name a folder, got the file {output}")
    check_writable(output, "--output folder")
    with _executor(args) as executor:
        done = run_study(spec, output, executor, workers=task_workers(executor))
    print(f"{len(configs)} runs ({done['trained']} trained, {len(configs) - done['trained']} from the cache), "
          f"{len(done['rows'])} rows:")
    for name in ("parquet", "csv", "figure", "transfer", "spec"):
        if name in done:
            print(f"  {done[name]}")


def cmd_rerun(args):
    import time

    import nbformat

    from resnet_ode.book.executors import SCHEDULER_ENV, task_workers
    from resnet_ode.book.experiments import chapter_parameters, notebook_parameters
    from resnet_ode.book.notebooks import execute_chapter
    from resnet_ode.book.sweeps import run_sweep, update_toc
    from resnet_ode.training.tasks import train_runs
    from resnet_ode.util.environ import environment
    from resnet_ode.util.paths import repo_root

    t0 = time.perf_counter()
    sweep = _sweep_or_exit(args.chapter)
    root = repo_root()
    notebook = _chapter_notebook(sweep)
    if args.defaults:
        params = notebook_parameters(nbformat.read(notebook, as_version=4), tags=("parameters",))
    else:
        params = chapter_parameters(notebook)
    new = _parse_params(args.param)
    unknown = set(new) - set(params)
    if unknown:
        raise UsageError(f"unknown parameter(s) {sorted(unknown)} of {sweep.notebook}; "
                         f"its parameters: {', '.join(params)}")
    params.update(new)
    changes = _parse_sets(args.set)
    if changes:
        if "changes" not in params:
            raise UsageError(f"{sweep.notebook} takes no run settings (--set)")
        if not isinstance(params["changes"], dict):
            raise UsageError(f"Chapter {args.chapter}: changes must be a dict of run settings for --set to add to, "
                             f"got {params['changes']!r}; give --param \"changes={{'T': 10}}\" or leave it out")
        params["changes"] = {**params["changes"], **changes}
    # Every chapter parameter and every run is validated before anything trains or is written.
    configs = _checked(lambda: sweep.validate(params))
    runs = _checked(lambda: sweep.all_runs(params))
    _check_pages_writable([sweep], chapters=True)
    check_writable(root / "_toc.yml", "the table of contents file")
    with _executor(args) as executor:  # the scheduler is checked before any work
        train_runs(executor, runs, task_workers(executor))  # the workers return their runs, this process stores them
        pages = run_sweep(sweep, configs, jobs=args.jobs, executor=executor)
    report_cache_warnings(*pages)
    stale = update_toc(sweep, configs)
    for page in stale:
        (root / f"{page}.ipynb").unlink(missing_ok=True)
    # The chapter executes here; its kernel sends its landscape planes to the same cluster (evaluate_plane).
    with environment({SCHEDULER_ENV: getattr(executor, "address", None)}):
        execute_chapter(notebook, params)
    report_cache_warnings(notebook)
    print(f"{sweep.notebook} and {len(configs)} run pages re-executed in {time.perf_counter() - t0:.0f} s"
          f"{f'; removed {len(stale)} stale run pages' if stale else ''}. Build the HTML with: make html")


def run_page_name(config) -> str:
    """File name of the page ``resnet-ode run`` writes: ``run-`` and every setting that differs from the defaults.

    For example ``run-nY48-T10-integrator_rk4-init_seed3.ipynb`` (numbers
    follow the name, words after an underscore), ``run-defaults.ipynb`` for
    the default settings; so two runs that differ in any setting never share
    a page. A name longer than 120 characters is cut and ends in a hash of
    all settings.
    """
    import hashlib
    import json

    defaults = type(config)().to_dict()
    parts = []
    for key, value in config.to_dict().items():
        if value == defaults[key] or (key == "nt" and config.control == "per_step"):  # nt follows nY there
            continue
        if isinstance(value, (str, bool)):
            parts.append(f"{key}_{value}")
        elif isinstance(value, float):  # short when that is exact (T10), else every digit (T10.000001)
            parts.append(f"{key}{value:g}" if float(f"{value:g}") == value else f"{key}{value!r}")
        else:
            parts.append(f"{key}{value}")
    name = "-".join(parts) or "defaults"
    if len(name) > 120:
        digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:12]
        name = f"{name[:100]}-{digest}"
    return f"run-{name}.ipynb"


def cmd_run(args):
    from resnet_ode.book.experiments import RUN_TEMPLATE
    from resnet_ode.book.notebooks import execute_template, run_parameters
    from resnet_ode.util.paths import repo_root
    from resnet_ode.training.runs import RunConfig

    changes = _parse_sets(args.set)
    config = _checked(lambda: RunConfig(**changes))
    root = repo_root()
    template = root / RUN_TEMPLATE
    if not template.is_file():
        raise UsageError(f"{template} not found: run resnet-ode from the repository, or set RESNET_ODE_ROOT to it")
    if args.output:
        output = Path(args.output).absolute()
        if output.suffix != ".ipynb" or output.is_dir():
            raise UsageError(f"--output must name a notebook file ending in .ipynb, got {args.output!r}")
        if output.resolve() == template.resolve():
            raise UsageError("--output must not be the run template itself")
    else:
        output = root / "book" / "chapter3" / "runs" / run_page_name(config)
    check_writable(output, "--output file" if args.output else "the run page file")
    print(execute_template(template, output, run_parameters(config, template)))
    report_cache_warnings(output)


def cmd_execute(args):
    import nbformat

    from resnet_ode.book.notebooks import execute_in_place

    # Every notebook is checked before the first one executes.
    for name in args.notebooks:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"{name}: no such notebook file")
        try:
            nbformat.read(path, as_version=4)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
            raise UsageError(f"{name} is not a readable notebook ({type(exc).__name__}: {exc})") from None
        check_writable(path.absolute().parent, "the folder of the notebook")
    for path in args.notebooks:
        execute_in_place(Path(path).absolute(), timeout=args.timeout)
        print(path)


def cmd_execute_book(args):
    import time

    from resnet_ode.book.bookcache import book_notebooks, check_book_cache, execute_into_book_cache, executed_copy_path
    from resnet_ode.util.paths import repo_root

    t0 = time.perf_counter()
    cache = Path(args.cache).absolute() if args.cache else repo_root() / "_build" / ".jupyter_cache"
    try:
        check_book_cache(cache)
    except ValueError as exc:
        raise UsageError(f"--cache: {exc}") from None
    check_writable(cache, "--cache folder")
    paths = book_notebooks()
    try:
        done = execute_into_book_cache(paths, cache, jobs=args.jobs, timeout=args.timeout, force=args.force)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"{len(done)} of {len(paths)} notebooks executed into {cache} in {time.perf_counter() - t0:.0f} s "
          f"({len(paths) - len(done)} unchanged since their last execution)")
    report_cache_warnings(*(executed_copy_path(p, cache) for p in done))


def cmd_html(args):
    import subprocess

    from resnet_ode.book import htmlbuild

    try:
        built = htmlbuild.build(force=args.force)
    except subprocess.CalledProcessError as exc:
        raise CommandFailed(f"jupyter-book build failed (exit status {exc.returncode}); its messages are above") \
            from None
    if built:
        print(f"HTML book built: {Path('_build') / 'html' / 'index.html'}")


def build_parser():
    """The ``resnet-ode`` command line: one subcommand per task (Chapter 5.1 lists them with their help)."""
    parser = argparse.ArgumentParser(prog="resnet-ode", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=__version__)
    sub = parser.add_subparsers(dest="command", required=True)
    cores = _default_jobs()

    p = sub.add_parser("sweep", help="execute chapters' run pages through papermill (their current parameters), "
                                     "here or on a Dask cluster")
    p.add_argument("chapter", nargs="+", help="chapters, e.g. 3.1 3.2, or all")
    p.add_argument("--jobs", type=_jobs, default=cores, help=_jobs_help("runs executed in parallel on this machine", cores))
    p.add_argument("--scheduler", metavar="ADDRESS", help=_PAGES_SCHEDULER_HELP)
    p.set_defaults(func=cmd_sweep, executes=True)

    p = sub.add_parser("train", help="train every run the chapters need (their current parameters) that is not in "
                                     "the cache, longest first, in parallel")
    p.add_argument("chapter", nargs="+", help="chapters, e.g. 3.1 3.2, or all")
    p.add_argument("--jobs", type=_jobs, default=cores, help=_jobs_help("runs trained in parallel", cores))
    p.add_argument("--scheduler", metavar="ADDRESS", help=_SCHEDULER_HELP)
    p.set_defaults(func=cmd_train, executes=True)

    p = sub.add_parser("study", help="train and evaluate a grid of run settings (what is missing), write one "
                                     "table (Parquet and CSV) and a summary figure")
    p.add_argument("--grid", action="append", metavar="NAME=V1,V2,...",
                   help="a varied run setting and its values, e.g. nY=8,16 or init_seed=0,1,2 (repeatable)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="a run setting of every run (repeatable)")
    p.add_argument("--file", help="the grid and settings from a TOML, YAML or JSON file (tables 'grid' and 'set'); "
                                  "--grid and --set replace its entries")
    p.add_argument("--output", metavar="DIR", help="folder of the results (default _build/study)")
    p.add_argument("--jobs", type=_jobs, default=cores, help=_jobs_help("runs trained in parallel on this machine", cores))
    p.add_argument("--scheduler", metavar="ADDRESS", help=_SCHEDULER_HELP)
    p.set_defaults(func=cmd_study, executes=True)

    p = sub.add_parser("rerun", help="rerun a chapter with new parameters: its runs, its page, the table of contents")
    p.add_argument("chapter", help="chapter, e.g. 3.1")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="a chapter parameter, e.g. depths=[8,32,128] (repeatable)")
    p.add_argument("--set", action="append", metavar="NAME=VALUE",
                   help="a run setting applied to every run of the chapter, e.g. T=10 (repeatable)")
    p.add_argument("--defaults", action="store_true", help="start from the chapter's default parameters")
    p.add_argument("--jobs", type=_jobs, default=cores, help=_jobs_help("runs executed in parallel on this machine", cores))
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help=_PAGES_SCHEDULER_HELP[:-1] + "; the chapter page itself executes here)")
    p.set_defaults(func=cmd_rerun, executes=True)

    p = sub.add_parser("run", help="execute one run through papermill")
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="run setting (repeatable)")
    p.add_argument("--output", help="output notebook (default: book/chapter3/runs/run-<settings>.ipynb, named "
                                    "by every setting that differs from the defaults)")
    p.set_defaults(func=cmd_run, executes=True)

    p = sub.add_parser("execute", help="execute notebooks in place (to commit them with outputs)")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--timeout", type=_timeout, default=3600, help="seconds per cell")
    p.set_defaults(func=cmd_execute, executes=True)

    p = sub.add_parser("execute-book", help="execute the notebooks of the table of contents in parallel into the "
                                            "Jupyter Book execution cache (make html does this before the build)")
    p.add_argument("--cache", help="the cache folder (_config.yml: execute.cache; default _build/.jupyter_cache in the "
                                   "repository; a relative path is taken from the current folder)")
    p.add_argument("--jobs", type=_jobs, default=cores, help=_jobs_help("notebooks executed in parallel", cores))
    p.add_argument("--timeout", type=_timeout, default=3600, help="seconds per cell")
    p.add_argument("--force", action="store_true", help="execute every notebook, also those unchanged since their "
                                                        "last execution")
    p.set_defaults(func=cmd_execute_book, executes=True)

    p = sub.add_parser("html", help="build the HTML book from the executed notebooks (jupyter-book, warnings as "
                                    "errors), unless nothing it is built from changed since its last build")
    p.add_argument("--force", action="store_true", help="build also when nothing changed")
    p.set_defaults(func=cmd_html)

    datacmds.add_parsers(sub, _jobs, cores, _jobs_help, _SCHEDULER_HELP)

    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet_kernel_death()
    previous = _install_signal_handlers()
    from resnet_ode.book.processes import command_scratch
    from resnet_ode.util.environ import environment
    from resnet_ode.util.paths import absolute_environment

    try:  # paths from the environment: taken from the folder the command was started in, once, for every process
        with environment(absolute_environment()), command_scratch(getattr(args, "executes", False)), \
                cache_warnings_as_lines():
            try:
                if getattr(args, "executes", False):
                    _check_environment()
                args.func(args)
            except UsageError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            except (PageError, CommandFailed) as exc:  # e.g. run pages raised on a Dask cluster (the others were written)
                print(f"error: {exc}", file=sys.stderr)
                return 1
            except KeyboardInterrupt as exc:
                return _stop_after_interrupt(getattr(exc, "signum", signal.SIGINT))
            except OSError as exc:  # a full disk, a folder that became unwritable, a cell timed out: no traceback
                print(f"error: {outside_failure_text(exc) or os_error_text(exc)}", file=sys.stderr)
                return 1
            except Exception as exc:
                name = type(exc).__name__
                if outside_failure_text(exc):  # a kernel killed from outside, e.g. by the out-of-memory killer
                    print(f"error: {outside_failure_text(exc)}", file=sys.stderr)
                    return 1
                if name not in ("CellExecutionError", "PapermillExecutionError"):
                    raise
                where = "".join(f"\n{note}" for note in getattr(exc, "__notes__", ()))  # which page (run_calls)
                print(f"error: a notebook cell raised an exception:\n{exc}{where}", file=sys.stderr)
                return 1
    finally:
        _restore_signal_handlers(previous)
    return 0


def _check_environment():
    """Settings every process of the command reads from the environment, checked before any work."""
    from resnet_ode.core.parallel import default_workers
    from resnet_ode.training.cache import root

    try:
        default_workers()
    except ValueError as exc:  # the kernels and workers would each fail with a traceback
        raise UsageError(f"{exc}: give a count such as RESNET_ODE_WORKERS=2 (worker processes per run), or unset "
                         "it") from None
    if root().exists() and not root().is_dir():  # every entry would be computed, set aside and not stored
        raise UsageError(f"the cache {root()} is a file, not a folder: point RESNET_ODE_CACHE at a folder (it is "
                         "created if missing), or unset it")


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def _install_signal_handlers() -> dict:
    """SIGTERM and SIGHUP raise :class:`Interrupted`, Ctrl-C its ``KeyboardInterrupt``: one clean-up for all.

    A signal the command was started with ignored (``nohup``, a background
    job) stays ignored. Returns the previous handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum, handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, _raise_interrupted),
                            (signal.SIGHUP, _raise_interrupted)):
        old = signal.getsignal(signum)
        if old is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, handler)
    return previous


def _restore_signal_handlers(previous: dict):
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _stop_after_interrupt(signum: int) -> int:
    """End the kernels and worker processes, say what happened and how to resume; the exit status 128 + signum."""
    from resnet_ode.book.processes import stop_children

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # a second Ctrl-C does not cut the clean-up short
        if threading.current_thread() is threading.main_thread():
            signal.signal(s, signal.SIG_IGN)
    stop_children()
    name = signal.Signals(signum).name
    print(f"\nresnet-ode: interrupted ({name}); kernels and worker processes stopped. Pages not finished keep "
          "their previous content, finished runs are cached: run the same command again to resume.",
          file=sys.stderr)
    return 128 + int(signum)


if __name__ == "__main__":
    sys.exit(main())
