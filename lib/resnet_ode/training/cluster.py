"""A connection to a Dask distributed cluster, checked before any work, its workers' settings, and the worker check.

:func:`connect` reaches the scheduler at ``ADDRESS`` (``--scheduler ADDRESS``
or the environment variable :data:`SCHEDULER_ENV`) within
:data:`CONNECT_TIMEOUT` seconds or raises :class:`SchedulerUnreachable`;
checks that every worker present computes with this process's training code
and numeric code paths (:func:`check_workers`, else :class:`WorkerMismatch`
naming the worker); and registers a worker plugin that
gives glibc's ``malloc`` thresholds their usual values (:func:`tune_malloc`).
The :class:`DaskExecutor` it returns runs calls ``(fn, args, kwargs)`` as
tasks and hands each value back as it arrives, under the local pool's error
rule (:func:`resnet_ode.util.calls.run_calls`). :func:`shared_executor` keeps
one connection per address for work that asks for the cluster many times (a
chapter's landscape planes).

It sits in the training layer so that the training tasks
(:mod:`resnet_ode.training.tasks`), the studies (the landscape planes, a
study's evaluations) and the command line (:mod:`resnet_ode.book.executors`,
which adds the local pool) can use it. Workers compute and return; they
write nothing, so a worker that dies and is replaced (its tasks run again
elsewhere, ``distributed.scheduler.allowed-failures``, 3 by default) leaves
nothing half-written.

**The worker check.** A result computed elsewhere (by a Dask worker or a
local pool's process) is only used under this process's cache keys if the
worker computed it with the same training code and numeric code paths
(:func:`resnet_ode.training.runs.code_identity`). Every worker sends
:func:`worker_identity` with its results, and :func:`check_identity` is the
one comparison with this process's: for a trained run
(:func:`resnet_ode.training.tasks.store_run`), a study's evaluation
(:func:`resnet_ode.studies.study.run_study`), a run page
(:mod:`resnet_ode.book.pagetasks`) and the workers present when a cluster is
connected (:func:`check_workers`). (The landscape planes compare their own
digest, :func:`resnet_ode.studies.landscape.version.code_identity`, in
:mod:`resnet_ode.studies.landscape.plane`, whose code enters the key of every
stored surface, so it is left as it is.)
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import platform
import socket
import time

from resnet_ode.util.calls import run_calls

#: Environment variable naming a Dask scheduler (``tcp://host:port``): ``train``, ``study``, ``sweep`` and ``rerun``
#: use it, and so do the landscape planes of any process that sees it (a chapter's kernel).
SCHEDULER_ENV = "RESNET_ODE_SCHEDULER"

#: Seconds to wait for the scheduler to answer before giving up with :class:`SchedulerUnreachable`.
CONNECT_TIMEOUT = 5.0


class SchedulerUnreachable(RuntimeError):
    """The Dask scheduler could not be reached (or ``dask.distributed`` is not installed); the message says which."""


class WorkerMismatch(RuntimeError):
    """A worker computes with other training code or numeric code paths than this process."""


def scheduler_address(option: str | None) -> str | None:
    """The scheduler to use: ``option`` if given, else ``RESNET_ODE_SCHEDULER`` if set and not empty, else ``None``."""
    if option:
        return option.strip()
    env = os.environ.get(SCHEDULER_ENV, "").strip()
    return env or None


class DaskExecutor:
    """Calls sent to a ``dask.distributed`` cluster through a ``distributed.Client``.

    Use :func:`connect` to make one (it checks the scheduler and the workers
    before any work).

    Parameters
    ----------
    client : distributed.Client
    address : str
        The scheduler's address (for messages and the progress bar).
    """

    name = "dask"

    def __init__(self, client, address: str):
        self.client = client
        self.address = address

    def map(self, calls, desc: str, on_result=None, names=None):
        """Run ``calls`` (``(fn, args, kwargs)``) as tasks, giving ``on_result(i, value)`` each value as it arrives.

        The error rule of :func:`resnet_ode.util.calls.run_calls`, the local
        pool's too: a task that raises stops no other (their values are
        handed over, their runs get cached), then the first failed task's
        error is raised with a note naming it (``names[i]`` if given). If
        ``on_result`` raises, or on Ctrl-C, the tasks not finished are
        cancelled on the cluster at once.
        """
        from distributed import as_completed

        def submit(fn, args, kwargs):
            # The call's keywords are bound first: Client.submit would take some (workers, key, ...) as its own.
            return self.client.submit(functools.partial(fn, **kwargs) if kwargs else fn, *args, pure=False)

        run_calls(calls, desc + f" on {self.address}", on_result, names, submit=submit,
                  completed=lambda futures: as_completed(futures, loop=self.client.loop),
                  stop=lambda futures, exc: self.client.cancel(futures))

    def close(self):
        with contextlib.suppress(Exception):
            self.client.close(timeout=CONNECT_TIMEOUT)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def connect(address: str, timeout: float = CONNECT_TIMEOUT) -> DaskExecutor:
    """A :class:`DaskExecutor` on the scheduler at ``address``, checked before any work.

    Raises
    ------
    SchedulerUnreachable
        Within about ``timeout`` seconds when nothing answers at ``address``
        (or the address is malformed, or ``dask.distributed`` is missing);
        the message names the address.
    WorkerMismatch
        When a worker present now computes with other training code or
        numeric code paths than this process (its results would not be
        those the cache keys promise).
    """
    try:
        import dask
        from distributed import Client
    except ImportError as exc:
        raise SchedulerUnreachable(f"the Dask scheduler {address} needs dask.distributed, which is not installed "
                                   f"({exc}); pip install 'dask[distributed]' (pinned in requirements.txt)") from None
    deadline = time.monotonic() + timeout
    _probe(address, timeout)  # before any Client exists: no hang, no traceback, no Client.__del__ noise after
    left = max(1.0, deadline - time.monotonic())
    try:
        with dask.config.set({"distributed.comm.timeouts.connect": f"{left}s"}):
            client = _quiet_client_class(Client)(address, timeout=f"{left}s", set_as_default=False)
    except Exception as exc:  # noqa: BLE001 - tls without its settings, ws to a server that is no Dask scheduler, ...
        first = (str(exc).strip().splitlines() or [""])[0]
        raise SchedulerUnreachable(
            f"cannot connect to the Dask scheduler at {address} within {timeout:g} s ({type(exc).__name__}: {first}). "
            f"Start one (README: 'Studies, and running them on a Dask cluster'), or leave out --scheduler and unset "
            f"{SCHEDULER_ENV} to use the local processes") from None
    executor = DaskExecutor(client, address)
    try:
        check_workers(client)
        client.register_plugin(_worker_settings(), name=WORKER_SETTINGS)
    except BaseException:
        executor.close()
        raise
    return executor


def _quiet_client_class(client_class):
    """``distributed.Client`` whose ``__del__`` does nothing when its ``__init__`` failed.

    A Client that could not connect closes itself when it is collected, which
    waits 10 s and then prints an ``Exception ignored in Client.__del__``
    traceback (``TimeoutError``), after the command's error line.
    """

    class QuietClient(client_class):
        _resnet_ode_connected = False

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._resnet_ode_connected = True

        def __del__(self):
            if self._resnet_ode_connected:
                super().__del__()

    return QuietClient


#: The schemes of a scheduler address this package connects to (``inproc://`` names a scheduler inside one process,
#: ``ucx://`` needs a backend the requirements do not install).
SCHEMES = ("tcp", "tls", "ws", "wss")


def _unreachable(address: str, what: str) -> SchedulerUnreachable:
    return SchedulerUnreachable(
        f"{what}. Give the address of a running Dask scheduler, tcp://HOST:PORT (README: 'Studies, and running them on "
        f"a Dask cluster'), or leave out --scheduler and unset {SCHEDULER_ENV} to use the local processes")


#: Largest first message (bytes) taken for a Dask scheduler's handshake; a real one is well under 1 kB.
_HANDSHAKE_MAX = 1 << 20


def _probe(address: str, timeout: float):
    """Raise :class:`SchedulerUnreachable` within ``timeout`` s unless ``address`` is a well-formed Dask address
    where a Dask scheduler answers.

    ``distributed`` itself waits for ever for the handshake of a server that says nothing (an HTTP server, say:
    the dashboard's port) and reads the first bytes of any other server as the length of a message to allocate.
    A scheduler sends its handshake first, as one message: eight bytes giving its length, then the message. A
    ``tcp://`` address is checked that far here, with a deadline; a ``tls``, ``ws`` or ``wss`` one as far as a
    connection (their handshake is the Client's); other schemes are refused (:data:`SCHEMES`).
    """
    from distributed.comm.addressing import parse_address, parse_host_port
    from distributed.comm.registry import backends

    try:
        scheme, location = parse_address(address)
        if scheme not in backends:
            raise ValueError(f"unknown scheme {scheme!r}; Dask's are {', '.join(sorted(backends))}")
        if scheme not in SCHEMES:
            raise ValueError(f"scheme {scheme!r}: resnet-ode connects over {', '.join(SCHEMES)}")
        host, port = parse_host_port(location)
        if not host or not 0 < int(port) < 65536:
            raise ValueError("a host and a port in [1, 65535] are needed")
    except (ValueError, TypeError) as exc:
        raise _unreachable(address, f"{address!r} is not a Dask scheduler address ({exc})") from None
    deadline = time.monotonic() + timeout
    try:
        where = _resolve(host, int(port), timeout)  # a name lookup that hangs counts against the deadline too
        with socket.create_connection(where, timeout=max(0.01, deadline - time.monotonic())) as sock:
            if scheme != "tcp":  # tls, ws, wss: reachable; their handshake is the Client's
                return
            header = _receive(sock, 8, deadline)
            if header is None:
                raise _unreachable(address, f"the server at {address} sent no Dask handshake within {timeout:g} s: "
                                            "it is not a Dask scheduler (an HTTP server, such as the dashboard?)")
            size = int.from_bytes(header, "little")
            if not 0 < size <= _HANDSHAKE_MAX or _receive(sock, size, deadline) is None:
                raise _unreachable(address, f"the server at {address} does not speak Dask's protocol: it is not a "
                                            "Dask scheduler")
    except (socket.timeout, TimeoutError):
        raise _unreachable(address, f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                                    "(no answer)") from None
    except OSError as exc:
        raise _unreachable(address, f"cannot reach the Dask scheduler at {address} within {timeout:g} s "
                                    f"({exc.strerror or type(exc).__name__})") from None


def _resolve(host: str, port: int, timeout: float):
    """``(address, port)`` of ``host`` looked up within ``timeout`` s (``socket.timeout`` if the lookup hangs).

    ``getaddrinfo`` has no timeout of its own; a resolver that does not answer
    would otherwise hold the command far beyond the stated 5 s.
    """
    import threading

    box = {}

    def lookup():
        try:
            box["info"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            box["error"] = exc

    thread = threading.Thread(target=lookup, daemon=True, name="resnet-ode-resolve")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise socket.timeout(f"looking up {host} took longer than {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["info"][0][4][:2]


def _receive(sock, n: int, deadline: float):
    """``n`` bytes from ``sock`` before ``deadline``; ``None`` if they do not all come (silence, or closed)."""
    data = bytearray()
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        sock.settimeout(left)
        try:
            chunk = sock.recv(min(n - len(data), 1 << 16))
        except (socket.timeout, TimeoutError):
            return None
        if not chunk:
            return None
        data += chunk
    return bytes(data)


#: Name of the worker plugin :func:`connect` registers (``_worker_settings``).
WORKER_SETTINGS = "resnet-ode-worker-settings"

#: glibc ``mallopt`` parameters and the values ``_worker_settings`` gives them (bytes).
_MALLOC = {"M_TRIM_THRESHOLD": (-1, 64 << 20), "M_MMAP_THRESHOLD": (-3, 32 << 20)}


def tune_malloc() -> bool:
    """Give glibc's ``malloc`` thresholds that keep numpy's temporary arrays on the heap; ``False`` without glibc.

    A Dask nanny starts its worker with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``). Setting it also freezes
    glibc's mmap threshold at 128 KiB, so every array of 128 KiB or more
    (a state of 5000 samples is 320 KB) is mapped and unmapped afresh, and
    its pages zeroed again: training ran 3 times as long, in the kernel
    (nY = 8, 20 Gauss-Newton iterations: 3.1 to 3.5 s in a plain process,
    9.5 s with that variable, 5.5 s of it system time). Mapping only above
    32 MiB and trimming above 64 MiB is what glibc's own adaptive thresholds
    reach for such a program.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return all(mallopt(param, value) == 1 for param, value in _MALLOC.values())


def _worker_settings():
    """A worker plugin running :func:`tune_malloc` on every worker present or to come.

    Defined in a function so that it travels to the workers by value.
    """
    from distributed import WorkerPlugin

    class WorkerSettings(WorkerPlugin):
        def setup(self, worker):
            tune_malloc()

    return WorkerSettings()


def check_workers(client):
    """Raise :class:`WorkerMismatch` if a worker of ``client`` computes with other training code or numeric code paths
    than this process (:func:`check_identity` on each)."""
    theirs = sorted(client.run(worker_identity).items())
    mismatches = []
    for addr, ident in theirs:
        try:
            check_identity(ident, who=f"worker {addr} ({ident['host']})")
        except WorkerMismatch as exc:
            mismatches.append(exc)
    if mismatches:
        raise WorkerMismatch(f"{mismatches[0]} ({len(mismatches)} of {len(theirs)} workers differ)")


def _mismatch_text(who: str, theirs: str, mine: str, what: str = "training code hash") -> str:
    return (f"{who} computes with {what} {theirs[:12]}, this process with {mine[:12]}: install the "
            "same version of resnet-ode and its pinned packages there and start the worker with the Makefile's "
            "NPY_DISABLE_CPU_FEATURES and OPENBLAS_CORETYPE (resnet_ode.training.runs.numerics)")


def worker_identity() -> dict:
    """What a worker sends with every result: ``source`` (its :func:`~resnet_ode.training.runs.code_identity`),
    ``host`` and ``pid``."""
    from resnet_ode.training.runs import code_identity

    return {"source": code_identity(), "host": platform.node(), "pid": os.getpid()}


def check_identity(reply: dict, consequence: str = "", mine: str | None = None, who: str | None = None):
    """Raise :class:`WorkerMismatch` unless the worker that sent ``reply`` computes as this process does.

    The one check of a worker's identity (see the module's text).

    Parameters
    ----------
    reply : dict
        Holds the worker's :func:`worker_identity` (``source``, ``host``,
        ``pid``), as every worker's reply does.
    consequence : str
        Added to the message: what was not done with the reply (``"; its
        result was not stored"``).
    mine : str, optional
        The identity to match; default this process's
        :func:`~resnet_ode.training.runs.code_identity`.
    who : str, optional
        How the message names the worker; default ``the worker on HOST (pid PID)``.
    """
    if mine is None:
        from resnet_ode.training.runs import code_identity

        mine = code_identity()
    if reply["source"] != mine:
        who = who or f"the worker on {reply['host']} (pid {reply['pid']})"
        raise WorkerMismatch(_mismatch_text(who, reply["source"], mine) + consequence)


#: Connections :func:`shared_executor` keeps, by scheduler address (closed when the process exits).
_SHARED: dict[str, DaskExecutor] = {}


def shared_executor(address: str) -> DaskExecutor:
    """A :class:`DaskExecutor` on ``address`` kept for the life of this process (connected and checked once).

    For work that asks for the cluster many times over (a chapter's
    landscape planes, one call per plane): the connection and the workers'
    check (:func:`connect`) are paid once. A connection that has been
    closed is made again.
    """
    executor = _SHARED.get(address)
    if executor is None or executor.client.status not in ("running", "connecting"):
        if not _SHARED:
            atexit.register(_close_shared)
        executor = _SHARED[address] = connect(address)
    return executor


def _close_shared():
    while _SHARED:
        _SHARED.popitem()[1].close()
