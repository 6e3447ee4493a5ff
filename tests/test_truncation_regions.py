"""Which kernel a truncated normal uses (docs/stream.md 5.5), and its parameters.

``streamref.choose_kernel`` decides from the document's text (exact
standardised bounds, the 1.5 threshold, Robert's cutoff at 40 digits);
these tests check that varinit picks the same kernel with the same
parameters, bit for bit, including intervals on either side of every
boundary.
"""
import math
from fractions import Fraction

import numpy as np
import pytest

import varinit
from varinit import _core, distributions, dtypes
from streamref import choose_kernel, robert_cutoff, round_inward

CODES = {"normal": _core.DIST_NORMAL, "normal_trunc": _core.DIST_NORMAL_TRUNC,
         "normal_flat": _core.DIST_NORMAL_FLAT,
         "normal_tail": _core.DIST_NORMAL_TAIL}
STREAM = {np.float32: np.float32, np.float64: np.float64}


def _dtype(name):
    if name == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _stream(dtype):
    return np.float64 if dtype == np.float64 else np.float32


def _same(got, want) -> bool:
    """Equal as stream values, sign of zero included."""
    got, want = float(got), float(want)
    return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)


def check(mean, stddev, low, high, dtype, expect=None):
    """varinit's kernel and parameters equal the model's; return the name."""
    dtype = _dtype(dtype) if isinstance(dtype, str) else np.dtype(dtype)
    T = _stream(dtype)
    name, params = choose_kernel(mean, stddev, low, high, dtype)
    if expect is not None:
        assert name == expect, (mean, stddev, low, high, dtype)
    code, got = distributions.get("truncated_normal").kernel(
        mean, stddev, dtypes.lookup(dtype), low=low, high=high)
    assert code == CODES[name], (name, code, mean, stddev, low, high, dtype)
    suffix = "_f" if T == np.float32 else ""
    for key, want in params.items():
        value = got[key + suffix]
        assert float(T(value)) == float(value) or math.isnan(float(value)), (key, value)
        assert _same(value, want), (name, key, float(value), float(want),
                                     mean, stddev, low, high, dtype)
    return name


DTYPES = ["float32", "float64", "float16", "bfloat16"]

# (low, high) in units of stddev from the mean, and the kernel 5.5 gives.
INTERVALS = [
    (None, None, "normal_trunc"),
    (-1.99, 1.99, "normal_trunc"),  # ±2 itself: test_truncated_ziggurat_threshold
    (-1.95, 1.91, "normal_trunc"),
    (-2.0, 1.89, "normal"),         # 1.9 itself: test_truncated_ziggurat_threshold
    (-2.01, 2.0, "normal"),
    (-math.inf, 0.3, "normal"),
    (-0.3, math.inf, "normal"),
    (-1.0, 3.0, "normal"),
    (-1.51, 0.2, "normal"),       # 1.5 itself: test_threshold_one_and_a_half
    (-0.2, 1.51, "normal"),
    (-1.49, 1.49, "normal_flat"),
    (-0.2, 0.4, "normal_flat"),
    (-0.3, 1.2, "normal_flat"),
    (0.0, 1.0, "normal_flat"),
    (-1.0, 0.0, "normal_flat"),
    (0.5, 0.501, "normal_flat"),
    (1.0, 1.5, "normal_flat"),
    (-2.0, -1.6, "normal_flat"),
    (3.0, 3.1, "normal_flat"),
    (1.0, 2.0, "normal_tail"),
    (8.0, 9.0, "normal_tail"),
    (-9.0, -8.0, "normal_tail"),
    (3.0, math.inf, "normal_tail"),
    (-math.inf, -3.0, "normal_tail"),
    (0.25, math.inf, "normal_tail"),
    (30.0, math.inf, "normal_tail"),
    (-math.inf, -30.0, "normal_tail"),
    (12.0, 12.01, "normal_flat"),
    (12.0, 12.5, "normal_tail"),
]


def _holds_a_value(dtype, low, high) -> bool:
    dtype = _dtype(dtype)
    if dtype.itemsize != 2 or low is None or high is None:
        return True
    with np.errstate(invalid="ignore"):             # the NaN patterns
        values = np.arange(1 << 16, dtype=np.uint16).view(dtype).astype(np.float64)
    return bool(np.any((values >= low) & (values <= high)))


def _bounds(mean, stddev, lo, hi):
    low = None if lo is None else (lo if math.isinf(lo) else mean + lo * stddev)
    high = None if hi is None else (hi if math.isinf(hi) else mean + hi * stddev)
    return low, high


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mean,stddev", [(0.0, 1.0), (0.5, 2.0), (-3.0, 0.25), (0.1, 0.3)])
@pytest.mark.parametrize("lo,hi,expect", INTERVALS)
def test_kernel_and_params_by_region(dtype, mean, stddev, lo, hi, expect):
    low, high = _bounds(mean, stddev, lo, hi)
    if not _holds_a_value(dtype, low, high):             # refused, not sampled
        with pytest.raises(ValueError, match="no .* value lies in"):
            distributions.get("truncated_normal").kernel(
                mean, stddev, dtypes.lookup(_dtype(dtype)), low=low, high=high)
        return
    check(mean, stddev, low, high, dtype, expect)


def test_all_kernels_are_chosen():
    names = {choose_kernel(0.0, 1.0, *_bounds(0.0, 1.0, lo, hi), np.float32)[0]
             for lo, hi, _ in INTERVALS}
    assert names == set(CODES)


def _neighbours(x: Fraction, T, k=2):
    """The stream values nearest ``x``: k at or below, k above."""
    below = round_inward(x, T, up=False)
    vals = [below]
    for _ in range(k - 1):
        vals.insert(0, np.nextafter(vals[0], T(-np.inf)))
    v = below
    for _ in range(k):
        v = np.nextafter(v, T(np.inf))
        vals.append(v)
    return [float(v) for v in vals]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("mean,stddev", [(0.0, 1.0), (0.1, 0.3), (-3.0, 0.7)])
def test_truncated_ziggurat_threshold(dtype, mean, stddev):
    """normal_trunc exactly when both standardised bounds lie in [1.9, 2]
    in magnitude, exact arithmetic on the stream values; neighbours of 1.9
    and of 2 on either side."""
    T = _stream(np.dtype(dtype))
    m, sd = Fraction(float(T(mean))), Fraction(float(T(stddev)))
    seen = set()
    for target in (Fraction(19, 10), Fraction(2)):
        for bound in _neighbours(m + target * sd, T):
            low = float(round_inward(m - Fraction(39, 20) * sd, T, up=True))
            name = check(mean, stddev, low, bound, dtype)
            a, b = (Fraction(low) - m) / sd, (Fraction(bound) - m) / sd
            inside = Fraction(19, 10) <= -a <= 2 and Fraction(19, 10) <= b <= 2
            assert name == ("normal_trunc" if inside else "normal"), (bound, b)
            seen.add(name)
    assert seen == {"normal", "normal_trunc"}


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("mean,stddev", [(0.0, 1.0), (0.1, 0.3), (-3.0, 0.7)])
def test_threshold_one_and_a_half(dtype, mean, stddev):
    """max(-a, b) just below 1.5 takes normal_flat, at or above it normal,
    where a, b are exact: the bounds rounded inward to the stream, minus the
    rounded mean, over the rounded stddev."""
    T = _stream(np.dtype(dtype))
    m, sd = Fraction(float(T(mean))), Fraction(float(T(stddev)))
    seen = set()
    for sign in (1, -1):
        edge = m + sign * Fraction(3, 2) * sd
        for bound in _neighbours(edge, T):
            low, high = (mean - 0.1 * stddev, bound) if sign > 0 else (bound, mean + 0.1 * stddev)
            name = check(mean, stddev, low, high, dtype)
            b = (Fraction(bound) - m) / sd * sign
            assert name == ("normal" if b >= Fraction(3, 2) else "normal_flat")
            seen.add(name)
    assert seen == {"normal", "normal_flat"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("a", [0.05, 0.25, 1.0, 2.0, 3.7, 10.0])
@pytest.mark.parametrize("side", [1, -1])
def test_robert_cutoff(dtype, a, side):
    """Widths on either side of cutoff(a): normal_flat below, normal_tail at
    or above, mirrored below the mean."""
    T = np.float32 if dtype == "float32" else np.float64
    mean, stddev = 0.0, 1.0
    near = round_inward(Fraction(a), T, up=True)           # a stream value
    a_exact = Fraction(float(near))
    cut = robert_cutoff(a_exact)
    seen = set()
    for far in _neighbours(a_exact + cut, T):
        width = Fraction(far) - a_exact
        low, high = (float(near), far) if side > 0 else (-far, -float(near))
        name = check(mean, stddev, low, high, dtype)
        assert name == ("normal_flat" if width < cut else "normal_tail")
        seen.add(name)
    assert seen == {"normal_flat", "normal_tail"}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_robert_cutoff_with_a_mean_and_stddev(dtype):
    T = np.float32 if dtype == "float32" else np.float64
    mean, stddev = 0.37, 0.011
    m, sd = Fraction(float(T(mean))), Fraction(float(T(stddev)))
    lo = float(round_inward(m + Fraction(13, 10) * sd, T, up=True))
    a = (Fraction(lo) - m) / sd
    seen = set()
    for hi in _neighbours(Fraction(lo) + robert_cutoff(a) * sd, T, k=3):
        name = check(mean, stddev, lo, hi, dtype)
        assert name == ("normal_flat" if (Fraction(hi) - Fraction(lo)) / sd < robert_cutoff(a)
                        else "normal_tail")
        seen.add(name)
    assert seen == {"normal_flat", "normal_tail"}


def test_bounds_rounded_inward_before_standardising():
    """A float64 bound between two float32 values: the float32 stream uses
    the float32 value inside the interval, so the kernel can differ."""
    high = float(np.nextafter(np.float64(1.5), 0.0))    # just below 1.5 in float64
    assert check(0.0, 1.0, -0.1, high, "float32") == "normal_flat"   # hi = prev32(1.5)
    assert check(0.0, 1.0, -0.1, high, "float64") == "normal_flat"
    above = float(np.nextafter(np.float64(1.5), 2.0))
    assert check(0.0, 1.0, -0.1, above, "float32") == "normal"        # hi = 1.5
