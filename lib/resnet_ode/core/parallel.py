"""Persistent worker processes that propagate fixed chunks of samples.

Why processes and not threads (``python benchmarks/bench.py --implementation
resnet_ode-1 resnet_ode-2 threads-2``, two threads over the same two chunks):
for the forward pass alone two threads gain about as much as two processes
(about 1.9 times at nY = 32 and 256), since numpy releases the GIL inside its
larger calls. The derivative sweeps (the gradient and the ``J v`` and ``J^T w``
products of every CG step), which dominate training, are many calls of about
15 microseconds each, and handing the GIL between threads after each call
eats most of the gain: two threads 1.0 to 1.5 times, two processes 1.3 to 1.9
times. Worker processes have no such hand-offs. Each worker keeps
the blocks it was sent and the tapes of its recent forward passes, so that
Jacobian products travel as small messages: a weight vector in, a chunk of
states or a partial gradient out.

:class:`ColumnParallel` is the block that uses them: it runs any block of
:mod:`resnet_ode.core.blocks` on fixed column chunks of the samples.

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
import weakref
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener

if __name__ == "__main__":  # a worker: Ctrl-C is its caller's to handle, also while numpy loads
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked by WorkerPool until it got here

import numpy as np

from resnet_ode.core.blocks import Block
from resnet_ode.util.validate import check_int

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

    Workers are started as ``python -m resnet_ode.core.parallel ADDRESS`` and
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
        try:
            with Listener(address, family="AF_UNIX", authkey=authkey) as listener:
                for _ in range(self.n):
                    # Started with Ctrl-C blocked (inherited), so that one arriving while the worker's
                    # interpreter starts is not a KeyboardInterrupt there; the worker ignores it.
                    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
                    try:
                        self.procs.append(subprocess.Popen([sys.executable, "-m", "resnet_ode.core.parallel", address],
                                                           env=env, stdin=subprocess.DEVNULL))
                    finally:
                        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                for _ in range(self.n):
                    self.conns.append(listener.accept())
        except BaseException:  # interrupted while starting: no worker outlives the pool
            for proc in self.procs:
                proc.kill()
            for conn in self.conns:
                conn.close()
            raise
        finally:
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


# --------------------------------------------------------------------------
# A block run on column chunks in the workers
# --------------------------------------------------------------------------


class ColumnParallel(Block):
    """Run a block on fixed column chunks of the input, in worker processes.

    The samples (columns) are cut into ``n_chunks`` contiguous chunks and each
    chunk is propagated independently; weight derivatives are summed over the
    chunks in chunk order. With ``workers >= 2`` chunk ``c`` lives in worker
    process ``c % workers`` of a shared :class:`resnet_ode.core.parallel.WorkerPool`,
    which keeps its tapes; with ``workers=1`` the chunks run here, one after
    the other. The chunking does not depend on ``workers``, so neither do the
    results.
    """

    def __init__(self, block: Block, n_chunks: int = 2, workers: int = 1):
        self.block = block
        self.n_in, self.n_out, self.n_params = block.n_in, block.n_out, block.n_params
        self.n_chunks = check_int("n_chunks", n_chunks, min_value=1)
        self.workers = min(check_int("workers", workers, min_value=1), self.n_chunks)
        self._pool = None
        self._registered = set()
        self._tape_ids = 0

    def _get_pool(self):
        if self._pool is None or self._pool.closed:
            self._pool = get_pool(self.workers)
            self._registered = set()
            self._token = self._pool.new_token()
            weakref.finalize(self, _forget, self._pool, self._token, self.workers)
        return self._pool

    def _bounds(self, n):
        edges = np.linspace(0, n, min(self.n_chunks, n) + 1).astype(int)
        return list(zip(edges[:-1], edges[1:]))

    def _remote(self, cmd, bounds, payload):
        """Send ``(cmd, token, *payload(c, a, b))`` for every chunk and collect the replies in order.

        If the request is interrupted (Ctrl-C) or a worker dies, the pool is
        discarded: its pipes would be out of step. The next request starts a
        new one.
        """
        pool = self._get_pool()
        try:
            return self._exchange(pool, cmd, bounds, payload)
        except (KeyboardInterrupt, EOFError, OSError):
            pool.discard()
            raise

    def _exchange(self, pool, cmd, bounds, payload):
        for c in range(len(bounds)):
            w = c % self.workers
            if w not in self._registered:
                pool.send(w, "register", self._token, self.block)
                pool.receive(w)
                self._registered.add(w)
        replies = [None] * len(bounds)
        error = None
        # Chunks beyond the number of workers go in further rounds.
        for start in range(0, len(bounds), self.workers):
            batch = range(start, min(start + self.workers, len(bounds)))
            for c in batch:
                pool.send(c % self.workers, cmd, self._token, *payload(c, *bounds[c]))
            for c in batch:  # every reply is read, even after an error, to keep the pipes in step
                try:
                    replies[c] = pool.receive(c % self.workers)
                except Exception as exc:  # noqa: BLE001 - re-raised below
                    error = error or exc
        if error is not None:
            raise error
        return replies

    def init_params(self, rng):
        return self.block.init_params(rng)

    def apply(self, theta, Y):
        bounds = self._bounds(Y.shape[1])
        if self.workers == 1:
            outs = [self.block.apply(theta, Y[:, a:b]) for a, b in bounds]
        else:
            outs = self._remote("apply", bounds, lambda c, a, b: (theta, Y[:, a:b]))
        return np.concatenate(outs, axis=1)

    def forward(self, theta, Y):
        bounds = self._bounds(Y.shape[1])
        if self.workers == 1:
            results = [self.block.forward(theta, Y[:, a:b]) for a, b in bounds]
            return np.concatenate([r[0] for r in results], axis=1), (bounds, [r[1] for r in results])
        self._tape_ids += 1
        tid = self._tape_ids
        outs = self._remote("forward", bounds, lambda c, a, b: ((tid, c), theta, Y[:, a:b]))
        return np.concatenate(outs, axis=1), _RemoteTape(bounds, tid, self)

    def jvp(self, tape, dtheta=None, dY=None):
        bounds = tape[0]
        parts = [None if dY is None else dY[:, a:b] for a, b in bounds]
        if self.workers == 1:
            outs = [self.block.jvp(t, dtheta, d) for t, d in zip(tape[1], parts)]
        else:
            outs = self._remote("jvp", bounds, lambda c, a, b: ((tape.tid, c), dtheta, parts[c]))
        return np.concatenate(outs, axis=1)

    def vjp(self, tape, W):
        bounds = tape[0]
        if self.workers == 1:
            outs = [self.block.vjp(t, W[:, a:b]) for t, (a, b) in zip(tape[1], bounds)]
        else:
            outs = self._remote("vjp", bounds, lambda c, a, b: ((tape.tid, c), W[:, a:b]))
        dtheta = outs[0][0].copy()
        for g, _ in outs[1:]:
            dtheta += g
        return dtheta, np.concatenate([o[1] for o in outs], axis=1)


class _RemoteTape:
    """Handle of the tapes that worker processes hold; they are released when it is garbage collected."""

    def __init__(self, bounds, tid, owner):
        self.bounds, self.tid = bounds, tid
        weakref.finalize(self, _release, owner._pool, owner._token, tid, len(bounds), owner.workers)

    def __getitem__(self, index):
        return (self.bounds, self.tid)[index]


def _release(pool, token, tid, n_chunks, workers):
    for c in range(n_chunks):
        pool.post(c % workers, "release", token, (tid, c))


def _forget(pool, token, workers):
    """Tell the workers to drop a block and its tapes (queued; sent with the next request)."""
    for w in range(workers):
        pool.post(w, "forget", token)


def _connect_to_caller(address: str, authkey: str):
    """The connection to the pool that started this worker; ``None`` if it is gone (stopped while this one started)."""
    try:
        return Client(address, family="AF_UNIX", authkey=bytes.fromhex(authkey))
    except (OSError, EOFError, AuthenticationError):
        return None


if __name__ == "__main__":
    _caller = _connect_to_caller(sys.argv[1], os.environ["RESNET_ODE_AUTHKEY"])
    if _caller is not None:  # else nobody to work for: end quietly
        _worker_main(_caller)
