"""The commands for the data: ``resnet-ode cache``, ``resnet-ode publish`` and ``resnet-ode verify``.

``cache info`` says what the local cache holds per store; ``cache clear``
removes only the files the cache wrote.

``publish`` makes ``data/published/`` hold exactly the cache entries the last
build read (from the read logs under ``_build/reads/``, see
:mod:`resnet_ode.training.published`), with their manifest; ``publish
--check`` fails when the build computed or read an entry that is not
published; ``publish --status`` says where the build's entries came from.

``verify`` recomputes published entries from nothing
(:mod:`resnet_ode.studies.verification`) and compares them bit for bit:
``--all`` every entry (``make reproduce``), ``--sample`` a few chosen by a
seed (``.ci/run`` passes the commit), ``--entry FILE`` named ones.
"""

from __future__ import annotations

import subprocess
import sys
import time

from resnet_ode.book.errors import UsageError


def _usage(message: str):
    return UsageError(message)


def command_executor(args):
    """The executor of ``--scheduler`` / ``RESNET_ODE_SCHEDULER`` (checked now, before any work), else the local pool."""
    from resnet_ode.book.executors import SchedulerUnreachable, WorkerMismatch, make_executor

    try:
        return make_executor(args.scheduler, args.jobs)
    except (SchedulerUnreachable, WorkerMismatch) as exc:
        raise UsageError(str(exc)) from None


def cmd_cache(args):
    """``info``: entries and sizes per store; ``clear``: remove only the files the cache wrote.

    Both exit with status 1 and a message, touching nothing, on a folder that
    does not exist; ``clear`` also on one without the cache's marker file.
    """
    from resnet_ode.training import cache
    from resnet_ode.training.runs import source_hash

    folder = cache.root()
    try:
        if args.action == "info":
            print(cache.info_text(folder))
            print(f"  training code hash {source_hash()[:12]}")
            from resnet_ode.training import published

            records = published.entries()
            print(f"published {published.published_dir()}: {len(records)} entries "
                  f"({sum(r['bytes'] for r in records) / 1e6:.1f} MB), read after the local cache")
        elif args.action == "clear":
            kinds = cache.clear(folder)
            removed = [p for kind, paths in kinds.items() if kind != "other" for p in paths]
            counts = ", ".join(f"{len(kinds[s.name])} {s.name}" for s in cache.STORES)
            print(f"removed {len(removed)} files from {folder} ({counts}, {len(kinds['bad'])} set aside, "
                  f"{len(kinds['working'])} locks or temporary files)"
                  + (f"; kept {len(kinds['other'])} files the cache did not write" if kinds["other"] else ""))
    except cache.NotACache as exc:
        raise SystemExit(f"error: {exc}") from None
    except OSError as exc:  # a read-only cache: what was removed is gone, the rest stays
        where = exc.filename or folder
        raise SystemExit(f"error: cannot remove {where} from the cache {folder} ({exc.strerror or exc}): the cache is "
                         "read-only here; clear it where it can be written, or point RESNET_ODE_CACHE at another "
                         "folder") from None


def cmd_publish(args):
    from resnet_ode.training import published

    try:
        reads = published.read_logs()
    except ValueError as exc:
        raise _usage(f"read logs: {exc}") from None
    if not reads.where and args.status:
        print("entries read: none (no notebook was executed and nothing trained)")
        return
    if not reads.where:
        raise _usage(f"no read logs in {published.reads_dir()}: build the book first (`make book`, or "
                     f"`{published.PUBLISH_COMMAND}`, which builds and publishes)")
    if args.status:
        print(published.status(reads))
        return
    if args.check:
        problems = published.check(reads)
        if problems:
            print("error: the book read entries that are not published as they are:", file=sys.stderr)
            for line in problems:
                print(f"  {line}", file=sys.stderr)
            raise SystemExit(1)
        print(f"published data checked: all {len(reads.where)} entries the book read are published and match "
              "the manifest")
        return
    try:
        report = published.publish(reads)
    except FileNotFoundError as exc:
        raise _usage(str(exc)) from None
    except published.BadEntry as exc:  # an entry of an older layout in the local cache: nothing was changed
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(report.text())


def _head_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "0"


def cmd_verify(args):
    from resnet_ode.book.executors import workers_per_job
    from resnet_ode.core.costs import run_cost
    from resnet_ode.studies import verification
    from resnet_ode.training import published
    from resnet_ode.training.trainer import RunConfig

    records = published.entries()
    if not records:
        raise _usage(f"no published entries in {published.published_dir()}")
    if args.entry:
        # An entry by its file name, the name without its extension, or its key alone.
        by_name = {name: r for r in records for name in (r["file"], r["file"].rsplit(".", 1)[0], r["key"])}
        unknown = [f for f in args.entry if f not in by_name]
        if unknown:
            raise _usage(f"--entry: not published: {', '.join(unknown)}; give a file name of "
                         f"{published.published_dir()} (e.g. {records[0]['file']}), without its extension or "
                         f"its key alone; the manifest lists them")
        chosen = list({by_name[f]["file"]: by_name[f] for f in args.entry}.values())
    elif args.all:
        chosen = records
    else:
        seed_text = args.seed or _head_commit()
        chosen = verification.sample(records, verification.seed_from(seed_text))
        print(f"sample of {len(chosen)} of {len(records)} published entries (seed from {seed_text[:12]!r})")

    def cost(r):  # runs by their training cost, longest first; the other entries after them
        return run_cost(RunConfig(**r["recipe"]["config"])) if r["kind"] == "runs" else 0.0

    chosen = sorted(chosen, key=lambda r: (-cost(r), r["file"]))
    try:
        workers = workers_per_job(args.jobs)
        calls = [(verification.verify_task, (r, verification.task_inputs(r), workers), {}) for r in chosen]
    except published.BadEntry as exc:
        print(f"error: published entry unusable: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    results = [None] * len(chosen)
    t0 = time.perf_counter()

    def keep(i, result):
        results[i] = result

    with command_executor(args) as executor:
        executor.map(calls, f"verifying {len(chosen)} entries", on_result=keep)
    for r in results:
        print(verification.report_line(r))
    bad = [r for r in results if not r["identical"]]
    kinds = ", ".join(f"{sum(r['kind'] == k for r in results)} {k}" for k in ("runs", "surfaces", "hessians", "analyses"))
    print(f"{len(results) - len(bad)} of {len(results)} entries ({kinds}) recomputed identical to the published "
          f"ones, in {time.perf_counter() - t0:.0f} s")
    if bad:
        other = sum(not r["same_numerics"] for r in bad)
        note = (f" ({other} of them were computed under other numeric code paths, where bits are not expected "
                "to match)") if other else ""
        print(f"error: {len(bad)} recomputed entries differ from the published ones{note}", file=sys.stderr)
        raise SystemExit(1)


def add_parsers(sub, jobs_type, jobs_default: int, jobs_help, scheduler_help: str):
    """The ``cache``, ``publish`` and ``verify`` subcommands."""
    p = sub.add_parser("cache", help="inspect the cache (runs, surfaces, Hessians, analyses) or remove the files it "
                                     "wrote")
    p.add_argument("action", choices=["info", "clear"])
    p.set_defaults(func=cmd_cache)

    p = sub.add_parser("publish", help="publish the cache entries the last build read into data/published "
                                       "(with their manifest), or check that it read only published ones")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true",
                       help="fail (exit 1) if the build computed or read an entry that is not published, or a "
                            "published file differs from its manifest record")
    group.add_argument("--status", action="store_true", help="say where the build's entries came from")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("verify", help="recompute published entries from nothing and compare them bit for bit")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="every published entry (make reproduce)")
    group.add_argument("--entry", action="append", metavar="FILE", help="a published entry by file name (repeatable)")
    group.add_argument("--sample", action="store_true",
                       help="one deep run, one shallow run, one surface, one Hessian and one analysis, drawn by --seed (default)")
    p.add_argument("--seed", help="text the sample is drawn from (default: the current git commit)")
    p.add_argument("--jobs", type=jobs_type, default=jobs_default,
                   help=jobs_help("entries recomputed in parallel", jobs_default))
    p.add_argument("--scheduler", metavar="ADDRESS", help=scheduler_help)
    p.set_defaults(func=cmd_verify, executes=True)
