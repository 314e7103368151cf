"""Executing notebooks: papermill runs of the template and in-place execution.

Executed notebooks are written atomically (to a temporary file, then renamed),
so an interrupted execution leaves the previous file untouched. Volatile
metadata (timestamps, durations) and progress-bar output are removed so that
re-executing an unchanged notebook reproduces the same file.
"""

from __future__ import annotations

import ast
import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import nbformat

from . import progress
from .paths import repo_root
from .storage import atomic_path

_PROGRESS_RE = re.compile(r"\r|\x1b\[|\d+it/s|s/it\]|\|\s*\d+/\d+ \[")


def clean_notebook(nb):
    """Drop timestamps, durations and progress-bar stderr from an executed notebook (in place)."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                if not text.strip() or _PROGRESS_RE.search(text):
                    continue
            kept.append(out)
        cell["outputs"] = kept
    return nb


def template_defaults(template: Path) -> dict:
    """Parameter names of a template and their default values (as source text)."""
    import papermill

    return {name: info["default"] for name, info in papermill.inspect_notebook(str(template)).items()}


def run_parameters(config, template: Path) -> dict:
    """Parameters to inject so that the template reproduces ``config``.

    Only values that differ from the template's defaults are injected, so the
    injected cell of each page lists exactly what is special about the run.
    Settings the template does not expose go into its ``options`` dict.
    """
    defaults = {k: ast.literal_eval(v) for k, v in template_defaults(template).items()}
    params, options = {}, {}
    for key, value in config.to_dict().items():
        if key in defaults:
            if value != defaults[key] or type(value) is not type(defaults[key]):
                params[key] = value
        else:
            options[key] = value
    base = type(config)().to_dict()
    options = {k: v for k, v in options.items() if base.get(k) != v}
    if options:
        params["options"] = options
    return params


def execute_template(template, output, parameters: dict, workers: int | None = None):
    """Execute ``template`` with ``parameters`` by papermill into ``output`` (atomically).

    ``workers`` sets ``RESNET_ODE_WORKERS`` for the kernel (processes per run).
    """
    import papermill

    template, output = Path(template), Path(output)
    if workers is not None:
        os.environ["RESNET_ODE_WORKERS"] = str(workers)
    with atomic_path(output) as tmp:
        tmp_nb = tmp.with_suffix(".ipynb")
        try:
            papermill.execute_notebook(
                str(template), str(tmp_nb), parameters=parameters, cwd=str(output.parent),
                kernel_name="python3", progress_bar=False, log_output=False,
            )
            nb = clean_notebook(nbformat.read(tmp_nb, as_version=4))
            nbformat.write(nb, tmp)
        finally:
            tmp_nb.unlink(missing_ok=True)
    return output


def execute_in_place(path, timeout: int = 3600):
    """Execute a notebook in its own folder and save it (atomically) with its outputs."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    clean_notebook(nb)
    with atomic_path(path) as tmp:
        nbformat.write(nb, tmp)
    return path


def run_sweep(sweep, jobs: int = 2, only=None):
    """Execute every run of a sweep with papermill, ``jobs`` at a time, with one progress bar.

    Parameters
    ----------
    sweep : resnet_ode.experiments.Sweep
    jobs : int
        Runs executed in parallel; each gets ``max(1, cores // jobs)`` worker
        processes.
    only : iterable of RunConfig, optional
        Restrict to these runs.

    Returns
    -------
    list of Path
        Executed notebooks.
    """
    root = repo_root()
    template = root / sweep.template
    configs = list(sweep.configs if only is None else only)
    # Longest runs first so that parallel jobs finish together.
    configs.sort(key=lambda c: -c.nY * max(1, len(c.integrator)))
    tasks = [(template, root / sweep.output_path(c), run_parameters(c, template)) for c in configs]
    workers = max(1, (os.cpu_count() or 2) // max(1, jobs))
    done = []
    with progress.bar(len(tasks), f"sweep {sweep.name}") as bar:
        if jobs <= 1:
            for t in tasks:
                done.append(execute_template(*t, workers=workers))
                bar.update(1)
        else:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                futures = [pool.submit(execute_template, *t, workers=workers) for t in tasks]
                for fut in as_completed(futures):
                    done.append(fut.result())
                    bar.update(1)
    return done
