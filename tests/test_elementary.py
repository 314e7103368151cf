"""The IEEE-built ``tanh``: accurate, exactly odd, special values, the same bits under other code paths, compiled or not."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from decimal import Decimal, getcontext

import numpy as np
import pytest

from resnet_ode.core import elementary
from resnet_ode.core.activations import get_activation
from resnet_ode.core.elementary import tanh, tanh_numpy

#: numpy restricted to its pre-AVX2 loops (where np.tanh gives other bits on an AVX2 machine).
OTHER_PATHS = {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Zen"}

#: SHA-256 of ``tanh(_arguments())``: what every processor and numpy build must give, bit for bit.
GOLDEN = "56d9500f6f7dbfa814376be71d2f951e5c3d2b21f6857a34bd01974b01f8dc63"


def _arguments() -> np.ndarray:
    rng = np.random.default_rng(20261207)
    return np.concatenate([rng.standard_normal(400_000) * 3, rng.uniform(-1e-3, 1e-3, 100_000),
                           np.logspace(-300, np.log10(700.0), 100_000), -np.logspace(-300, np.log10(700.0), 100_000)])


def _digest(x) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()


def test_the_split_of_ln2_is_exact_enough():
    getcontext().prec = 50
    hi = Decimal(elementary.LN2_HI)
    assert int(np.float64(elementary.LN2_HI).view(np.uint64)) & 0xFFFFFFFF == 0     # q * LN2_HI is exact
    assert abs(hi + Decimal(elementary.LN2_LO) - Decimal(2).ln()) < Decimal("1e-22")
    assert elementary.INV_LN2 == float(1 / Decimal(2).ln())


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 63, reason="needs an 80-bit long double as reference")
def test_within_four_units_in_the_last_place():
    x = _arguments()
    ref = np.tanh(x.astype(np.longdouble))
    rounded = ref.astype(np.float64)
    ulps = np.abs(tanh(x).astype(np.longdouble) - ref) / np.spacing(np.abs(rounded)).astype(np.longdouble)
    assert float(ulps.max()) <= 4.5
    assert float(ulps.mean()) < 0.5


def test_special_values_and_oddness():
    y = tanh(np.array([np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-310, -1e-310, 19.1, -19.1, 700.0]))
    assert np.isnan(y[0])
    assert y[1] == 0.0 and not np.signbit(y[1]) and y[2] == 0.0 and np.signbit(y[2])
    assert list(y[3:5]) == [1.0, -1.0] and list(y[7:]) == [1.0, -1.0, 1.0]
    assert y[5] == 1e-310 and y[6] == -1e-310          # tanh(x) = x in the subnormal range
    x = _arguments()
    assert np.array_equal(tanh(-x), -tanh(x))
    assert np.all(np.abs(tanh(x)) <= 1.0)
    y = tanh(np.sort(x))                               # monotone over the sample, to within one unit in the last
    assert np.all(np.diff(y) >= -np.spacing(np.abs(y[:-1])))   # place (2 of 700,000 steps go back by one, at |x| ~ 19)


def test_in_place_and_shapes():
    x = _arguments()[:1200].reshape(3, 400)
    y = tanh(x)
    z = x.copy()
    assert tanh(z, out=z) is z and np.array_equal(z, y) and z.shape == (3, 400)
    assert np.array_equal(tanh(np.asfortranarray(x)), y) and np.array_equal(tanh(x[:, ::3]), y[:, ::3])
    w = _arguments()                                   # blocks of BLOCK values give what one block gives
    assert w.size > 2 * elementary.BLOCK
    assert np.array_equal(tanh(w)[-1000:], tanh(w[-1000:]))
    assert tanh(0.5).shape == () and tanh([0.5, -0.5]).tolist() == [float(tanh(0.5)), -float(tanh(0.5))]
    act = get_activation("tanh")
    A, D = act.evaluate(x)
    assert np.array_equal(A, y) and np.array_equal(D, 1.0 - y * y)
    Z, D2 = x.copy(), np.empty_like(x)
    act.apply_(Z, D2, scale=0.25)
    assert np.array_equal(Z, y) and np.allclose(D2, 0.25 * (1.0 - y * y), rtol=1e-15, atol=0)


def test_the_bits_are_the_golden_ones():
    """The digest below was computed on an AVX2 machine; any other processor must give the same."""
    assert _digest(tanh(_arguments())) == GOLDEN


def test_the_same_bits_under_other_numeric_code_paths():
    """numpy's own tanh changes bits there on an AVX2 machine (printed); this one must not."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = (f"import sys; sys.path.insert(0, {here!r}); import hashlib, numpy as np;"
              "from test_elementary import _arguments; from resnet_ode.core.elementary import tanh;"
              "x = _arguments(); print(hashlib.sha256(tanh(x).tobytes()).hexdigest(),"
              "hashlib.sha256(np.tanh(x).tobytes()).hexdigest())")
    out = subprocess.run([sys.executable, "-c", script], env={**os.environ, **OTHER_PATHS},
                         capture_output=True, text=True, check=True)
    ours, numpys = out.stdout.split()
    print("numpy's tanh under the other code paths:", "other bits" if numpys != _digest(np.tanh(_arguments()))
          else "the same bits")
    assert ours == _digest(tanh(_arguments()))


def _same_bits(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all((a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))))


def test_the_compiled_loops_run_where_numba_is_installed():
    """``make`` installs numba (requirements.txt); without it tanh would run numpy's passes, about 5 times slower."""
    pytest.importorskip("numba", reason="numba is not installed: tanh runs numpy's passes")
    assert elementary.kernel().startswith("numba ")


def test_compiled_and_numpy_passes_give_the_same_bits():
    """The compiled loops against the method as numpy runs it: every argument of the golden set, special values,
    in place, strided and odd lengths (a block boundary inside and at the end)."""
    x = _arguments()
    assert _digest(tanh_numpy(x)) == GOLDEN
    assert _same_bits(tanh(x), tanh_numpy(x))
    special = np.array([np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 5e-324, -5e-324, 1e-310, 19.0, 19.1, 20.0,
                        20.5, 700.0, 710.0, 1e308, np.log(2) / 4, -np.log(2) / 4, 0.5 * np.log(2) * 57.5])
    assert _same_bits(tanh(special), tanh_numpy(special))
    for n in (0, 1, 2047, 2048, 2049, 16385):
        y = x[:n].copy()
        assert _same_bits(tanh(y), tanh_numpy(x[:n]))
        assert tanh(y, out=y) is y and _same_bits(y, tanh_numpy(x[:n]))
    grid = x[:3 * 4001].reshape(3, 4001)
    assert _same_bits(tanh(grid[:, ::2]), tanh_numpy(grid[:, ::2]))


@pytest.mark.skipif(not os.uname().machine.startswith("x86"), reason="reads x86 assembly")
def test_the_compiled_loops_fuse_no_multiply_and_add():
    """A fused multiply-add rounds once where the method rounds twice: it would change bits on processors with FMA."""
    numba = pytest.importorskip("numba")
    from resnet_ode.core import elementary_compiled as compiled

    options = {k: v for k, v in compiled._JIT.items() if k != "cache"}   # compiled afresh: a cached one has no assembly
    x, w, y = _arguments()[:4096], np.empty(4096), np.empty(4096)
    c = (elementary.CLIP, elementary.INV_LN2, elementary.ROUND, elementary.LN2_HI, elementary.LN2_LO,
         *elementary.EXP_P, *elementary.EXP_Q)
    calls = {"_expm1_part": (x, w, y, c), "_quotient_part": (x, w, y, y.copy())}
    for name, args in calls.items():
        fresh = numba.njit(**options)(getattr(compiled, name).py_func)
        fresh(*args)
        asm = "".join(fresh.inspect_asm().values())
        assert "vdivpd" in asm and "%ymm" in asm, name              # vectorised: four values a division
        assert not any(op in asm for op in ("vfmadd", "vfmsub", "vfnmadd", "vfnmsub")), name
