"""``tanh`` from IEEE basic operations: the same bits on every processor, and faster than numpy's here.

numpy's float64 ``tanh`` calls the C library's (about 13 ns per value on an
AVX2 machine without AVX-512) or, on processors with AVX-512, a vectorised
implementation of its own; the two give different bits, and so do the C
libraries of other systems. Training is chaotic in round-off, so the trained
networks then differ too. :func:`tanh` here uses only operations IEEE 754
rounds correctly (``+ - * /``, rounding to an integer, exact scaling by a
power of two built from its bits), each a separate numpy ufunc, so no compiler
can fuse or reorder them: every processor and numpy build gives the same bits.

:func:`tanh` runs the same operations compiled where numba is installed
(:mod:`resnet_ode.core.elementary_compiled`), with the same bits, about six
times as fast; :func:`tanh_numpy` runs them as numpy passes.

The method, for ``a = |x|`` (the sign is put back at the end, so ``tanh`` is
exactly odd and ``tanh(-0.0) = -0.0``)::

    tanh(a) = E / (E + 2),        E = expm1(2a),   2a clipped to 40
    2a = q ln2 + r,               q = 2a / ln2 rounded to an integer, |r| <= ln2 / 2
    expm1(2a) = 2^q expm1(r) + (2^q - 1)
    expm1(r) = 2 P / (Q - P),     P = r p(r^2), Q = q(r^2)

``q`` is rounded by adding and subtracting 1.5 * 2^52 (so that its bits,
shifted into the exponent field, give ``2^q`` without a conversion), ``ln 2``
is split in two (Cody and Waite) so that ``q ln2`` is subtracted without
rounding error; ``p`` and ``q`` are the (2, 3) rational approximation
of ``exp`` published with the Cephes library (S. L. Moshier). Where ``q > 0``,
``|2a| >= ln2 / 2`` and ``E >= 2^(1/2) - 1``, so the sum cancels little: the
error, measured against an 80-bit reference over a million arguments from
1e-300 to 700 (``tests/test_elementary.py``), is at most 4 units in the last
place (numpy's: 1). Beyond ``2a = 40`` the result is 1 to the last
bit, as ``tanh`` rounds there too. NaN gives NaN and +-inf gives +-1.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

#: The high part of ln 2, whose 32 low bits are zero, so that ``q * LN2_HI`` is exact for ``abs(q) < 2**21``.
LN2_HI = 0.6931467056274414
LN2_LO = 4.7493250390316726e-07
INV_LN2 = 1.4426950408889634

#: Coefficients (highest degree first) of ``P = r p(r^2)`` and ``Q = q(r^2)``: ``expm1(r) = 2P / (Q - P)``.
EXP_P = (1.2617719307481059087798e-4, 3.0299440770744196129956e-2, 9.9999999999999999991025e-1)
EXP_Q = (3.0019850513866445504159e-6, 2.5244834034968410419224e-3, 2.2726554820815502876593e-1, 2.0)

#: ``2a`` beyond which ``tanh(a)`` is 1 in double precision (it is from 2a = 38.1 on).
CLIP = 40.0

#: The number ``1.5 * 2**52``, for which ``(y + ROUND) - ROUND`` is ``y`` rounded to the nearest integer (ties to
#: even) for ``abs(y) < 2**51``, and the bits of ``y + ROUND`` are those of ``ROUND`` plus that integer.
ROUND = 6755399441055744.0

#: Values per block, so that the work arrays of one block stay in the processor's second-level cache.
BLOCK = 16384

# The constants as numpy scalars (a Python float costs a conversion in every operation).
_F = np.float64
_C = {"clip": _F(CLIP), "inv": _F(INV_LN2), "round": _F(ROUND), "hi": _F(LN2_HI), "lo": _F(LN2_LO),
      "p": tuple(map(_F, EXP_P)), "q": tuple(map(_F, EXP_Q)), "one": _F(1.0), "two": _F(2.0),
      "bias": np.int64(1023 - int(_F(ROUND).view(np.int64))), "shift": np.int64(52)}


def _tanh_block(x, out, t, q, w, z, y):
    """``out = tanh(x)`` for one block; ``t q w z y``: work arrays of its length (overwritten)."""
    c, p, qq = _C, _C["p"], _C["q"]
    np.abs(x, out=t)
    np.add(t, t, out=t)
    np.minimum(t, c["clip"], out=t)            # 2|x|, clipped; NaN passes through minimum
    np.multiply(t, c["inv"], out=y)
    np.add(y, c["round"], out=y)               # y = ROUND + q
    np.subtract(y, c["round"], out=q)          # q, an integer in [0, 58]
    np.multiply(q, c["hi"], out=w)
    np.subtract(t, w, out=t)
    np.multiply(q, c["lo"], out=w)
    np.subtract(t, w, out=t)                   # r = 2|x| - q ln2, |r| <= ln2 / 2
    np.multiply(t, t, out=z)
    np.multiply(z, p[0], out=w)                # P = r p(r^2)
    np.add(w, p[1], out=w)
    np.multiply(w, z, out=w)
    np.add(w, p[2], out=w)
    np.multiply(w, t, out=w)
    np.multiply(z, qq[0], out=t)               # Q = q(r^2), in t (r is no longer needed)
    np.add(t, qq[1], out=t)
    np.multiply(t, z, out=t)
    np.add(t, qq[2], out=t)
    np.multiply(t, z, out=t)
    np.add(t, qq[3], out=t)
    np.subtract(t, w, out=t)
    np.add(w, w, out=w)
    np.divide(w, t, out=w)                     # expm1(r)
    k = y.view(np.int64)                       # 2^q from the bits of ROUND + q
    np.add(k, c["bias"], out=k)
    np.left_shift(k, c["shift"], out=k)
    np.multiply(w, y, out=w)
    np.subtract(y, c["one"], out=y)
    np.add(w, y, out=w)                        # E = 2^q expm1(r) + (2^q - 1) = expm1(2|x|)
    np.add(w, c["two"], out=z)
    np.divide(w, z, out=w)
    np.copysign(w, x, out=out)


def tanh_numpy(x, out=None) -> np.ndarray:
    """:func:`tanh` run by numpy, one pass per operation: the method as written, and the reference of the compiled loops.

    Parameters and result as :func:`tanh`.
    """
    return _apply(_tanh_numpy_flat, x, out)


def tanh(x, out=None) -> np.ndarray:
    """The hyperbolic tangent of ``x``, elementwise, bit-identical on every processor.

    Runs the loops of :mod:`resnet_ode.core.elementary_compiled` where numba is
    installed (``make`` installs it), else :func:`tanh_numpy`; both give the
    same bits (see :func:`kernel`).

    Parameters
    ----------
    x : array_like of float, any shape
    out : ndarray of float64, the shape of ``x``, optional
        Where to write the result; may be ``x`` itself (in place).

    Returns
    -------
    ndarray of float64, the shape of ``x``
        ``tanh(x)``, within 4 units in the last place (see the module's text);
        a numpy scalar for a scalar ``x``.
    """
    return _apply(_flat_kernel()[0], x, out)


def kernel() -> str:
    """Which loops :func:`tanh` runs: ``"numba <version>"`` or ``"numpy"`` (``benchmarks/bench.py`` prints it)."""
    return _flat_kernel()[1]


@lru_cache(maxsize=1)
def _flat_kernel():
    """``(f, name)``: ``f(x, out)`` for one-dimensional contiguous float64 arrays, compiled if numba is installed."""
    try:
        import numba

        from resnet_ode.core.elementary_compiled import tanh_flat
    except ImportError:
        return _tanh_numpy_flat, "numpy"
    constants = (CLIP, INV_LN2, ROUND, LN2_HI, LN2_LO) + EXP_P + EXP_Q
    bias = _C["bias"]
    return (lambda x, out: tanh_flat(x, out, constants, bias)), f"numba {numba.__version__}"


def _tanh_numpy_flat(xf, of):
    m = min(BLOCK, xf.size)
    work = [np.empty(m) for _ in range(5)]
    with np.errstate(over="ignore"):          # 2|x| = inf for |x| > 9e307: clipped to 40 next, as intended
        for i in range(0, xf.size, BLOCK):
            j = min(i + BLOCK, xf.size)
            _tanh_block(xf[i:j], of[i:j], *(a[: j - i] for a in work))


def _apply(flat_kernel, x, out):
    x = np.asarray(x, dtype=np.float64)
    if out is None:
        out = np.empty_like(x)
    if x.ndim == 0 or not (x.flags.c_contiguous and out.flags.c_contiguous):
        flat = _apply(flat_kernel, np.ascontiguousarray(x).reshape(-1), None)
        out[...] = flat.reshape(x.shape)
        return out[()] if x.ndim == 0 else out
    flat_kernel(x.reshape(-1), out.reshape(-1))
    return out
