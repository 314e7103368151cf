"""The loops of :func:`resnet_ode.core.elementary.tanh` compiled with numba: the same operations, the same bits.

numpy runs :mod:`resnet_ode.core.elementary`'s method as 36 passes over
memory, one per operation (about 9 ns per value here). Compiled, each value
goes through the same operations in registers, four at a time in the
processor's vector lanes (about 2 ns per value). The bits do not change:
the loops below spell out every operation of ``_tanh_block`` in the same
order, and numba compiles without ``fastmath``, so no multiply and add are
fused into one rounding and nothing is reordered. ``tests/test_elementary.py``
compares the two on every run, including the digest every processor must give.

The three loops follow the three parts of the method: ``expm1(r)`` with the
integer ``q`` carried in the bits of ``ROUND + q``; ``2^q`` built from those
bits (integer operations, in place); and ``tanh = E / (E + 2)`` with the sign
put back. They work on blocks of :data:`BLOCK` values so that the two work
arrays stay in the first-level cache.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Values per block (two work arrays of 16 KiB each).
BLOCK = 2048

_JIT = {"nogil": True, "cache": True, "error_model": "numpy", "boundscheck": False}


@njit(**_JIT)
def _expm1_part(x, w_out, y_out, c):
    """``w_out = expm1(r)`` and ``y_out = ROUND + q`` for ``2|x|`` (clipped) ``= q ln2 + r``."""
    clip, inv_ln2, rnd, ln2_hi, ln2_lo, p0, p1, p2, q0, q1, q2, q3 = c
    for j in range(x.size):
        t = abs(x[j])
        t = t + t
        if t > clip:                          # NaN is not greater: it passes through, as np.minimum lets it
            t = clip
        y = t * inv_ln2
        y = y + rnd
        q = y - rnd
        t = t - q * ln2_hi
        t = t - q * ln2_lo
        z = t * t
        w = z * p0
        w = w + p1
        w = w * z
        w = w + p2
        w = w * t
        s = z * q0
        s = s + q1
        s = s * z
        s = s + q2
        s = s * z
        s = s + q3
        s = s - w
        w = w + w
        w_out[j] = w / s
        y_out[j] = y


@njit(**_JIT)
def _power_of_two(bits, bias):
    """In place, on the int64 bits of ``ROUND + q``: the bits of ``2^q``."""
    for j in range(bits.size):
        bits[j] = (bits[j] + bias) << 52


@njit(**_JIT)
def _quotient_part(x, w, p, out):
    """``out = sign(x) E / (E + 2)`` with ``E = 2^q expm1(r) + (2^q - 1)``; ``p`` holds ``2^q``."""
    for j in range(x.size):
        e = w[j] * p[j]
        e = e + (p[j] - 1.0)
        e = e / (e + 2.0)
        out[j] = math.copysign(e, x[j])


@njit(**_JIT)
def tanh_flat(x, out, c, bias):
    """``out = tanh(x)`` for one-dimensional float64 arrays of one length (``out`` may be ``x``).

    ``c``: the method's float constants, ``(CLIP, INV_LN2, ROUND, LN2_HI, LN2_LO) + EXP_P + EXP_Q`` of
    :mod:`resnet_ode.core.elementary`;
    ``bias``: the int64 that turns the bits of ``ROUND + q`` into the exponent of ``2^q``.
    """
    w = np.empty(BLOCK)
    y = np.empty(BLOCK)
    bits = y.view(np.int64)
    for start in range(0, x.size, BLOCK):
        m = min(BLOCK, x.size - start)
        xs = x[start:start + m]
        _expm1_part(xs, w[:m], y[:m], c)
        _power_of_two(bits[:m], bias)
        _quotient_part(xs, w[:m], y[:m], out[start:start + m])
