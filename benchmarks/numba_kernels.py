"""The Peaks network's kernels compiled with numba, for ``bench.py`` (imported only if numba is installed).

numba is not a dependency of the package: this module measures whether a
compiled route would pay. Each kernel walks the samples one column at a time
through every step and stage (the state of one sample, 8 numbers, stays in
registers and cache), for ``tanh`` and the bias outside the activation (the
book's network), with any explicit Runge-Kutta tableau ``(A, b)``. The columns
are cut into the same chunks as :class:`resnet_ode.core.parallel.ColumnParallel`;
``prange`` runs the chunks on numba's threads (one thread: one after the
other). Tapes are laid out sample by sample, shape (n, steps x stages, nc).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=False)
def _opening(K0, X, col, out):
    """``out = tanh(K0 x)`` for the sample in column ``col`` of ``X``."""
    nc, nin = K0.shape
    for r in range(nc):
        acc = 0.0
        for q in range(nin):
            acc += K0[r, q] * X[q, col]
        out[r] = np.tanh(acc)


@njit(cache=False)
def _row_dot(M, e, r, u):
    """``sum_q M[e, r, q] u[q]``."""
    acc = 0.0
    for q in range(u.size):
        acc += M[e, r, q] * u[q]
    return acc


@njit(cache=False)
def _stage_input(y, k, A, h, i, out):
    """``out = y + h sum_m A[i, m] k_m`` (the state a stage evaluates the dynamics at)."""
    for r in range(y.size):
        v = y[r]
        for m in range(i):
            if A[i, m] != 0.0:
                v += h * A[i, m] * k[m, r]
        out[r] = v


@njit(cache=False)
def _step(y, k, b, h):
    """``y += h sum_i b_i k_i`` (the end of a step)."""
    for i in range(b.size):
        if b[i] != 0.0:
            for r in range(y.size):
                y[r] += h * b[i] * k[i, r]


@njit(cache=False)
def _work(nc, s):
    """Scratch of one sample: a state, a stage input and the ``s`` stage values."""
    return np.empty(nc), np.empty(nc), np.empty((s, nc))


@njit(cache=False)
def _forward_chunk(K0, Ke, be, X, A, b, h, n_steps, lo, hi, Yout, Ut, At, keep):
    nc = K0.shape[0]
    s = b.size
    y, u, k = _work(nc, s)
    for col in range(lo, hi):
        _opening(K0, X, col, y)
        for j in range(n_steps):
            for i in range(s):
                e = j * s + i
                _stage_input(y, k, A, h, i, u)
                for r in range(nc):
                    t = np.tanh(_row_dot(Ke, e, r, u))
                    k[i, r] = t + be[e]
                    if keep:
                        Ut[col, e, r] = u[r]
                        At[col, e, r] = t
            _step(y, k, b, h)
        Yout[:, col] = y


@njit(cache=False)
def _backward_chunk(K0, Ke, X, A, b, h, n_steps, lo, hi, Ut, At, G, gK0, gK, gb):
    nc, nin = K0.shape
    s = b.size
    lam = np.empty(nc)
    barU = np.zeros((s, nc))
    D = np.empty(nc)
    y0 = np.empty(nc)
    for col in range(lo, hi):
        for r in range(nc):
            lam[r] = G[r, col]
        for j in range(n_steps - 1, -1, -1):
            for i in range(s - 1, -1, -1):
                e = j * s + i
                for r in range(nc):
                    v = h * b[i] * lam[r]
                    for m in range(i + 1, s):
                        if A[m, i] != 0.0:
                            v += h * A[m, i] * barU[m, r]
                    t = At[col, e, r]
                    D[r] = (1.0 - t * t) * v
                    gb[e] += v
                for r in range(nc):
                    for q in range(nc):
                        gK[e, r, q] += D[r] * Ut[col, e, q]
                for q in range(nc):
                    acc = 0.0
                    for r in range(nc):
                        acc += Ke[e, r, q] * D[r]
                    barU[i, q] = acc
            for i in range(s):
                for r in range(nc):
                    lam[r] += barU[i, r]
        _opening(K0, X, col, y0)
        for r in range(nc):
            d = (1.0 - y0[r] * y0[r]) * lam[r]
            for q in range(nin):
                gK0[r, q] += d * X[q, col]


@njit(cache=False)
def _jvp_chunk(K0, Ke, dK0, dKe, dbe, X, A, b, h, n_steps, lo, hi, Ut, At, dYout):
    nc, nin = K0.shape
    s = b.size
    dy, du, dk = _work(nc, s)
    y0 = np.empty(nc)
    for col in range(lo, hi):
        _opening(K0, X, col, y0)
        for r in range(nc):
            acc = 0.0
            for q in range(nin):
                acc += dK0[r, q] * X[q, col]
            dy[r] = (1.0 - y0[r] * y0[r]) * acc
        for j in range(n_steps):
            for i in range(s):
                e = j * s + i
                _stage_input(dy, dk, A, h, i, du)
                for r in range(nc):
                    t = At[col, e, r]
                    dk[i, r] = (1.0 - t * t) * (_row_dot(dKe, e, r, Ut[col, e]) + _row_dot(Ke, e, r, du)) + dbe[e]
            _step(dy, dk, b, h)
        dYout[:, col] = dy


@njit(parallel=True, cache=False)
def _forward(K0, Ke, be, X, A, b, h, n_steps, edges, Yout, Ut, At, keep):
    for c in prange(edges.size - 1):
        _forward_chunk(K0, Ke, be, X, A, b, h, n_steps, edges[c], edges[c + 1], Yout, Ut, At, keep)


@njit(parallel=True, cache=False)
def _backward(K0, Ke, X, A, b, h, n_steps, edges, Ut, At, G, gK0, gK, gb):
    for c in prange(edges.size - 1):
        _backward_chunk(K0, Ke, X, A, b, h, n_steps, edges[c], edges[c + 1], Ut, At, G, gK0[c], gK[c], gb[c])


@njit(parallel=True, cache=False)
def _jvp(K0, Ke, dK0, dKe, dbe, X, A, b, h, n_steps, edges, Ut, At, dYout):
    for c in prange(edges.size - 1):
        _jvp_chunk(K0, Ke, dK0, dKe, dbe, X, A, b, h, n_steps, edges[c], edges[c + 1], Ut, At, dYout)


class NumbaNetwork:
    """Forward pass, weight gradient and Jacobian-vector product of ``model``'s features, compiled by numba.

    ``threads`` numba threads share the ``n_chunks`` column chunks. The same
    interface as ``bench.PlainNumpy``: ``forward(theta, X, keep)`` returns
    ``(Y, cache)``, ``backward(cache, G)`` the gradient with respect to
    ``theta`` of ``<G, Y>``, ``jvp(theta, cache, v)`` the change of ``Y``.
    """

    def __init__(self, model, threads: int, n_chunks: int = 2):
        import numba

        ode = model.ode
        if ode.activation.name != "tanh" or ode.bias != "outside":
            raise ValueError("the numba kernels are written for tanh with the bias outside (the book's network)")
        self.numba, self.model, self.threads, self.n_chunks = numba, model, threads, n_chunks
        self.A, self.b = np.ascontiguousarray(ode.A, dtype=float), np.ascontiguousarray(ode.b, dtype=float)
        self.h, self.n_steps, self.P = float(ode.h), int(ode.n_steps), ode.P
        self.nc, self.E = ode.width, ode.n_steps * ode.n_stages
        self._tapes = {}

    def _edges(self, n):
        return np.linspace(0, n, min(self.n_chunks, n) + 1).astype(np.int64)

    def _weights(self, theta):
        K0, K, bias = self.model.split(theta)
        Ke = np.ascontiguousarray(np.einsum("ek,kij->eij", self.P, K))
        return np.ascontiguousarray(K0), Ke, self.P @ bias

    def _tape(self, n, reuse):
        if not reuse:
            return np.empty((n, self.E, self.nc)), np.empty((n, self.E, self.nc))
        if n not in self._tapes:
            self._tapes[n] = self._tape(n, False)
        return self._tapes[n]

    def forward(self, theta, X, keep=False, reuse=True):
        self.numba.set_num_threads(self.threads)
        K0, Ke, be = self._weights(theta)
        n = X.shape[1]
        Y = np.empty((self.nc, n))
        Ut, At = self._tape(n, reuse) if keep else (np.empty((1, 1, 1)), np.empty((1, 1, 1)))
        edges = self._edges(n)
        _forward(K0, Ke, be, X, self.A, self.b, self.h, self.n_steps, edges, Y, Ut, At, keep)
        return Y, (K0, Ke, X, Ut, At, edges)

    def backward(self, cache, G):
        self.numba.set_num_threads(self.threads)
        K0, Ke, X, Ut, At, edges = cache
        c = edges.size - 1
        gK0, gK, gb = np.zeros((c,) + K0.shape), np.zeros((c,) + Ke.shape), np.zeros((c, Ke.shape[0]))
        _backward(K0, Ke, X, self.A, self.b, self.h, self.n_steps, edges, Ut, At, np.ascontiguousarray(G), gK0, gK, gb)
        gK0, gK, gb = gK0.sum(axis=0), gK.sum(axis=0), gb.sum(axis=0)
        gKc = np.einsum("ek,eij->kij", self.P, gK)
        gbc = self.P.T @ gb
        return np.concatenate([gK0.ravel(), np.concatenate([gKc.reshape(len(gbc), -1), gbc[:, None]], axis=1).ravel()])

    def jvp(self, theta, cache, v):
        self.numba.set_num_threads(self.threads)
        K0, Ke, X, Ut, At, edges = cache
        dK0, dKe, dbe = self._weights(v)
        dY = np.empty((self.nc, X.shape[1]))
        _jvp(K0, Ke, dK0, dKe, dbe, X, self.A, self.b, self.h, self.n_steps, edges, Ut, At, dY)
        return dY
