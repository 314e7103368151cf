"""A chapter's run pages: executing them here or on a cluster, and listing them in the table of contents.

:func:`run_sweeps` executes run pages through papermill
(:func:`resnet_ode.book.notebooks.execute_template`) in local processes, or
on a Dask cluster's workers (:func:`resnet_ode.book.pagetasks.run_pages_on`);
:func:`update_toc` lists a chapter's run pages in ``_toc.yml``. (The runs
the chapters need are trained first, on every core or on the cluster, by
:func:`resnet_ode.training.tasks.train_runs`.)
"""

from __future__ import annotations

from pathlib import Path

from resnet_ode.book import notebooks
from resnet_ode.book.executors import LocalPool, workers_per_job
from resnet_ode.core.costs import run_cost
from resnet_ode.util.paths import repo_root
from resnet_ode.util.storage import atomic_path


def run_sweep(sweep, configs=None, jobs: int = 2, executor=None):
    """Execute runs of a chapter sweep with papermill (see :func:`run_sweeps`).

    Parameters
    ----------
    sweep : resnet_ode.book.experiments.ChapterSweep
    configs : sequence of RunConfig, optional
        The runs; default: those of the chapter notebook's current parameters.
    jobs : int
        Runs executed in parallel (local processes).
    executor : resnet_ode.book.executors.LocalPool or resnet_ode.training.cluster.DaskExecutor, optional
        Where the pages execute (:func:`run_sweeps`); default: the local processes.

    Returns
    -------
    list of Path
        Executed notebooks, in the order of ``configs``.
    """
    return run_sweeps([(sweep, configs)], jobs, executor=executor)


def run_sweeps(pairs, jobs: int = 2, executor=None):
    """Execute the run pages of several chapters, ``jobs`` at a time, with one progress bar.

    Parameters
    ----------
    pairs : sequence of (ChapterSweep, configs or None)
        ``None`` takes the chapter notebook's current parameters.
    jobs : int
        Runs executed in parallel on this machine; each gets
        ``max(1, cores // jobs)`` worker processes.
    executor : resnet_ode.book.executors.LocalPool or resnet_ode.training.cluster.DaskExecutor, optional
        ``None`` or a :class:`~resnet_ode.book.executors.LocalPool`: the local
        processes (``jobs`` of them; the kernels train what the cache lacks).
        A :class:`~resnet_ode.training.cluster.DaskExecutor`: the missing runs
        train on the cluster, then every page executes on a worker and is
        written here (:func:`resnet_ode.book.pagetasks.run_pages_on`).

    Returns
    -------
    list of Path
        Executed notebooks, chapter by chapter in the order of their configs.

    Raises
    ------
    resnet_ode.book.pagetasks.PageError
        On a Dask cluster, when pages raised (after every other page was
        written); each is named with its traceback.
    Exception
        In local processes, the first page's error (papermill's, naming the
        cell) after every other page was written, with a note naming the page
        (:func:`resnet_ode.util.calls.run_calls`).
    """
    root = repo_root()
    tasks, costs, configs_of = [], [], []
    for sweep, configs in pairs:
        template = root / sweep.template
        for c in (sweep.configs() if configs is None else configs):
            tasks.append((template, root / sweep.output_path(c), notebooks.run_parameters(c, template), sweep.page_title(c)))
            costs.append(run_cost(c))
            configs_of.append(c)
    # Longest runs first so that parallel jobs finish together.
    order = sorted(range(len(tasks)), key=lambda i: -costs[i])
    names = "+".join(sweep.name for sweep, _ in pairs)
    if executor is not None and executor.name != "local":
        from resnet_ode.book.pagetasks import run_pages_on

        run_pages_on(executor, [(*tasks[i], configs_of[i]) for i in order], f"sweep {names}")
        return [t[1] for t in tasks]
    jobs = executor.jobs if executor is not None else jobs
    workers = workers_per_job(jobs)
    LocalPool(jobs).map([(notebooks.execute_template, tasks[i][:3], {"workers": workers, "title": tasks[i][3]}) for i in order],
                        f"sweep {names}", names=[notebooks.shown_path(tasks[i][1]) for i in order])
    return [t[1] for t in tasks]


def update_toc(sweep, configs, toc_path=None):
    """List the run pages of ``configs`` under the sweep's chapter in ``_toc.yml``.

    Returns the pages the table of contents listed before under that chapter
    but no longer does (the caller may delete them).
    """
    import yaml

    toc_path = Path(toc_path or repo_root() / "_toc.yml")
    text = toc_path.read_text()
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    toc = yaml.safe_load(text)
    chapter = sweep.notebook.rsplit(".", 1)[0]
    entry = _find_entry(toc, chapter)
    if entry is None:
        raise ValueError(f"{chapter} is not in {toc_path}")
    old = [s["file"] for s in entry.get("sections", [])]
    new = [{"file": sweep.output_path(c).rsplit(".", 1)[0], "title": sweep.page_title(c)} for c in configs]
    if new:
        entry["sections"] = new
    else:  # a chapter whose runs have no pages (Chapter 6)
        entry.pop("sections", None)
    with atomic_path(toc_path) as tmp:
        tmp.write_text(header + yaml.dump(toc, Dumper=_toc_dumper(), sort_keys=False, width=100))
    return [f for f in old if f not in {n["file"] for n in new}]


def _toc_dumper():
    import yaml

    class Dumper(yaml.SafeDumper):
        """Indents list items under their key, as the committed ``_toc.yml`` is written."""

        def increase_indent(self, flow=False, indentless=False):
            return super().increase_indent(flow, False)

    return Dumper



def _find_entry(node, file):
    if isinstance(node, dict):
        if node.get("file") == file:
            return node
        node = list(node.values())
    if isinstance(node, list):
        for item in node:
            found = _find_entry(item, file)
            if found is not None:
                return found
    return None
