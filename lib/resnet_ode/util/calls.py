"""Calls run as tasks, their values handed back as they arrive: the one error rule of every executor's ``map``.

Both executors (:class:`resnet_ode.book.executors.LocalPool` and
:class:`resnet_ode.training.cluster.DaskExecutor`) run a list of calls
``(fn, args, kwargs)`` through :func:`run_calls`, so that a failure ends
them the same way:

- **A call that raises stops nothing.** Every other call runs to its end
  and its value is handed to ``on_result`` (a trained run is stored, a page
  written), so that running the same command again redoes only what failed.
  Then the exception of the first failed call, in the order of the calls, is
  raised, its type unchanged, with a note (:pep:`678`) naming that call and
  saying how many failed (:func:`failure_note`).
- **Anything raised in this process stops at once**: ``on_result`` refusing a
  value (a worker computing with other code,
  :class:`resnet_ode.training.cluster.WorkerMismatch`), Ctrl-C, a signal.
  The calls not finished are cancelled (``stop``) and that exception is
  raised.
"""

from __future__ import annotations

from resnet_ode.util import progress


def failure_note(desc: str, index: int, total: int, failed: int, name: str | None = None) -> str:
    """The note added to the exception :func:`run_calls` raises: which call raised it, and how many failed."""
    what = f"call {index + 1} of {total}" + (f" ({name})" if name else "")
    others = f"{failed} of {total} calls raised; " if failed > 1 else ""
    return f"{desc}: {what} raised this; {others}every other call ran to its end and its result was kept"


def run_calls(calls, desc: str, on_result=None, names=None, submit=None, completed=None, stop=None):
    """Run ``calls`` (``(fn, args, kwargs)``), give ``on_result(i, value)`` each value as it arrives; one progress bar.

    Parameters
    ----------
    calls : sequence of (callable, tuple, dict)
    desc : str
        Label of the progress bar and of the error note.
    on_result : callable (int, object) -> None, optional
        Receives the value of call ``i`` as it arrives, in this process; it
        may raise to stop everything.
    names : sequence of str, optional
        What each call is (a run's label, a page's path), for the error note.
    submit : callable (fn, args, kwargs) -> future, optional
        Starts a call where it runs. ``None``: the calls run here, one after
        the other (under the same rule).
    completed : callable (list of futures) -> iterator of futures
        The futures in the order they finish (``concurrent.futures.as_completed``
        or Dask's); needed with ``submit``.
    stop : callable (list of futures, BaseException) -> None
        Cancels what is not finished when this process stops early; needed
        with ``submit``.

    Raises
    ------
    Exception
        The first failed call's own exception (in the order of ``calls``),
        after every other call finished, with a note naming the call.
    BaseException
        Whatever ``on_result`` raises, or an interrupt, at once (after ``stop``).
    """
    calls = list(calls)
    names = list(names) if names is not None else [None] * len(calls)
    keep = on_result or (lambda i, value: None)
    failures = {}
    with progress.bar(len(calls), desc) as bar:
        if submit is None:
            for i, (fn, args, kwargs) in enumerate(calls):
                try:
                    value = fn(*args, **kwargs)
                except Exception as exc:  # noqa: BLE001 - raised once every other call ran
                    failures[i] = exc
                else:
                    keep(i, value)
                bar.update(1)
        else:
            futures = {}
            try:
                for i, (fn, args, kwargs) in enumerate(calls):
                    futures[submit(fn, args, kwargs)] = i
                for fut in completed(list(futures)):
                    i = futures[fut]
                    try:
                        value = fut.result()
                    except Exception as exc:  # noqa: BLE001 - raised once every other call ran
                        failures[i] = exc
                    else:
                        keep(i, value)
                    bar.update(1)
            except BaseException as exc:
                stop(list(futures), exc)
                raise
    if failures:
        first = min(failures)
        error = failures[first]
        error.add_note(failure_note(desc, first, len(calls), len(failures), names[first]))
        raise error
