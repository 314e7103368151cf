"""Persistent worker processes that propagate fixed chunks of samples.

Threads do not speed up this code: every step is a handful of numpy calls of
about 15 microseconds each, and handing the GIL back and forth between two
threads after every call costs as much as it saves (measured in
``benchmarks/``). Worker processes have no such hand-offs. Each worker keeps
the blocks it was sent and the tapes of its recent forward passes, so that
Jacobian products travel as small messages: a weight vector in, a chunk of
states or a partial gradient out.

Nothing here changes results: the samples are cut into the same chunks
whether one process or several do the work, and partial gradients are summed
in chunk order.
"""

from __future__ import annotations

import atexit
import itertools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
from multiprocessing.connection import Client, Listener

from ._validate import check_int

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_main(conn):
    # Ctrl-C and kernel interrupts reach the whole process group; the caller
    # handles them (and discards this worker), so the worker ignores them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    blocks = {}
    tapes = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):  # the caller is gone (its kernel was stopped or killed)
            break
        cmd = msg[0]
        if cmd == "close":
            break
        # Releases come from garbage collection on the caller's side and get no reply.
        if cmd == "release":
            tapes.pop((msg[1], msg[2]), None)
            continue
        if cmd == "forget":
            blocks.pop(msg[1], None)
            for key in [k for k in tapes if k[0] == msg[1]]:
                del tapes[key]
            continue
        try:
            if cmd == "register":
                _, token, block = msg
                blocks[token] = block
                reply = None
            elif cmd == "forward":
                _, token, tid, theta, Y = msg
                reply, tapes[(token, tid)] = blocks[token].forward(theta, Y)
            elif cmd == "apply":
                _, token, theta, Y = msg
                reply = blocks[token].apply(theta, Y)
            elif cmd in ("jvp", "vjp"):
                key = (msg[1], msg[2])
                if key not in tapes:
                    raise LookupError("the worker holds no such tape")
                block = blocks[msg[1]]
                reply = block.jvp(tapes[key], msg[3], msg[4]) if cmd == "jvp" else block.vjp(tapes[key], msg[3])
            else:
                raise ValueError(f"unknown command {cmd!r}")
            conn.send(("ok", reply))
        except OSError as exc:
            if isinstance(exc, (BrokenPipeError, ConnectionResetError)):
                break  # the caller is gone mid-request (interrupted or killed): nobody to answer, stop quietly
            if not _reply_error(conn):
                break
        except Exception:  # reported to the caller, which raises
            if not _reply_error(conn):
                break
    conn.close()


def _reply_error(conn) -> bool:
    """Send the current exception's traceback to the caller; ``False`` if the caller is gone."""
    try:
        conn.send(("error", traceback.format_exc()))
    except OSError:
        return False
    return True


class WorkerError(RuntimeError):
    """An exception inside a worker process (its traceback is the message)."""


class WorkerPool:
    """``n`` worker processes, each reached through its own connection.

    Workers are started as ``python -m resnet_ode.parallel ADDRESS`` and
    connect back over a local socket, so starting them never re-imports the
    caller's main script (as ``multiprocessing``'s spawn does).
    """

    def __init__(self, n: int):
        self.n = check_int("workers", n, min_value=1)
        authkey = secrets.token_bytes(16)
        folder = tempfile.mkdtemp(prefix="resnet-ode-")
        address = os.path.join(folder, "pool.sock")
        env = dict(os.environ, **{k: "1" for k in _THREAD_VARS})
        env["RESNET_ODE_AUTHKEY"] = authkey.hex()
        self.procs, self.conns = [], []
        with Listener(address, family="AF_UNIX", authkey=authkey) as listener:
            for _ in range(self.n):
                self.procs.append(subprocess.Popen([sys.executable, "-m", "resnet_ode.parallel", address], env=env,
                                                   stdin=subprocess.DEVNULL))
            for _ in range(self.n):
                self.conns.append(listener.accept())
        shutil.rmtree(folder, ignore_errors=True)
        self._tokens = itertools.count()
        self._pending = [[] for _ in range(self.n)]

    def new_token(self) -> int:
        return next(self._tokens)

    def post(self, worker: int, *msg):
        """Queue a message that needs no reply; it goes out before the next request.

        Safe to call from a garbage-collection finalizer, which may run in
        the middle of a request.
        """
        self._pending[worker].append(msg)

    def send(self, worker: int, *msg):
        if self.closed:
            raise WorkerError("the worker pool was closed")
        conn, pending = self.conns[worker], self._pending[worker]
        while pending:
            conn.send(pending.pop(0))
        conn.send(msg)

    def receive(self, worker: int):
        status, reply = self.conns[worker].recv()
        if status == "error":
            raise WorkerError(reply)
        return reply

    @property
    def closed(self) -> bool:
        return self.conns is None

    def discard(self):
        """Stop the workers at once (after an interrupted request their replies are out of step)."""
        if self.closed:
            return
        for proc in self.procs:
            proc.kill()
        for conn in self.conns:
            conn.close()
        self.conns = None
        if _POOLS.get(self.n) is self:
            del _POOLS[self.n]

    def close(self):
        if self.closed:
            return
        for conn in self.conns:
            try:
                conn.send(("close",))
                conn.close()
            except OSError:
                pass
        for proc in self.procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.conns = None


_POOLS: dict[int, WorkerPool] = {}


def get_pool(n: int) -> WorkerPool:
    """The shared pool of ``n`` workers, started on first use and closed at exit."""
    if n not in _POOLS or _POOLS[n].closed:
        _POOLS[n] = WorkerPool(n)
    return _POOLS[n]


@atexit.register
def _close_pools():
    for pool in list(_POOLS.values()):
        pool.close()
    _POOLS.clear()


def default_workers() -> int:
    """Worker processes per run: ``RESNET_ODE_WORKERS``, else 2 if the machine has 2 or more cores."""
    raw = os.environ.get("RESNET_ODE_WORKERS")
    if raw is None:
        return 2 if (os.cpu_count() or 1) >= 2 else 1
    if not raw.strip().isdigit():
        raise ValueError(f"RESNET_ODE_WORKERS must be a positive integer, got {raw!r}")
    return check_int("RESNET_ODE_WORKERS", int(raw), min_value=1)


if __name__ == "__main__":
    _worker_main(Client(sys.argv[1], family="AF_UNIX", authkey=bytes.fromhex(os.environ["RESNET_ODE_AUTHKEY"])))
