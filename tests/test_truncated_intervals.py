"""fill_truncated_normal on any interval: the law (KS against scipy), every
element inside its bounds in every dtype, bad bounds refused with the buffer
untouched, and the same bits however the fill is split.

The kernel choice and its parameters are checked in test_truncation_regions,
the kernels' bits against the written definition in test_stream; here the
public function is checked against the mathematics.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.special as sp
from scipy import stats

import varinit

ml_dtypes = pytest.importorskip("ml_dtypes")
N = 1 << 18

# (mean, stddev, low, high): symmetric, asymmetric, one-sided, narrow, far
# from the mean, deep tails on either side.
INTERVALS = [
    (0.0, 1.0, -1.0, 1.0),
    (0.2, 0.7, -0.5, 2.9),
    (0.0, 1.0, -0.3, 0.25),
    (0.0, 1.0, -math.inf, 0.5),
    (-1.0, 2.0, -2.0, math.inf),
    (0.0, 1.0, 1.0, 2.0),
    (0.0, 1.0, 0.3, 0.4),
    (0.0, 1.0, -6.0, -5.9),
    (3.0, 0.5, 3.0 + 0.5 * 4.0, math.inf),
    (0.0, 1.0, 8.0, 9.0),
    (0.0, 1.0, -9.0, -8.0),
    (10.0, 0.01, 10.0 + 0.01 * 12.0, 10.0 + 0.01 * 12.5),
    (0.0, 1.0, 1.0, 1.0 + 1e-6),            # width 1e-6 sigma
]
FLOAT64_ONLY = [
    (0.0, 1.0, 30.0, math.inf),
    (0.0, 1.0, -math.inf, -30.0),
    (5.0, 1e-3, 5.0 + 1e-3 * 37.0, 5.0 + 1e-3 * 37.5),
]


def _ids(cases):
    return [f"N({m},{s})[{lo},{hi}]" for m, s, lo, hi in cases]


def truncated_cdf(mean, stddev, low, high):
    """The exact CDF, from the nearer tail (precise far from the mean)."""
    a, b = (low - mean) / stddev, (high - mean) / stddev

    def cdf(x):
        z = np.clip((np.asarray(x, np.float64) - mean) / stddev, a, b)
        if a > 0:
            return (sp.ndtr(-a) - sp.ndtr(-z)) / (sp.ndtr(-a) - sp.ndtr(-b))
        return (sp.ndtr(z) - sp.ndtr(a)) / (sp.ndtr(b) - sp.ndtr(a))
    return cdf


def _resolvable(dtype, mean, stddev, low, high) -> bool:
    """Whether the dtype has many values in the interval (else KS, a test of
    a continuous law, does not apply; the bounds still do)."""
    if math.isinf(low) or math.isinf(high):
        return True
    return (high - low) / np.spacing(dtype(max(abs(low), abs(high)))) > 1e4


LAW_CASES = ([(np.float32, *c) for c in INTERVALS] + [(np.float64, *c) for c in INTERVALS]
             + [(np.float64, *c) for c in FLOAT64_ONLY])


@pytest.mark.parametrize("dtype,mean,stddev,low,high", LAW_CASES,
                         ids=[f"{np.dtype(c[0]).name}-{i}" for c, i in
                              zip(LAW_CASES, _ids([c[1:] for c in LAW_CASES]))])
def test_law_and_bounds(dtype, mean, stddev, low, high):
    x = varinit.fill_truncated_normal(np.empty(N, dtype), mean, stddev, low=low, high=high,
                                      seed=41)
    wide = x.astype(np.float64)
    assert np.isfinite(wide).all()
    assert wide.min() >= low and wide.max() <= high
    if not _resolvable(dtype, mean, stddev, low, high):
        assert len(np.unique(x)) > 1
        return
    cdf = truncated_cdf(mean, stddev, low, high)
    assert stats.kstest(wide, cdf, method="asymp").pvalue > 1e-4
    # the mean of the standardised values, against scipy's
    law = stats.truncnorm((low - mean) / stddev, (high - mean) / stddev)
    z = (wide - mean) / stddev
    with np.errstate(invalid="ignore"):
        spread = law.std()
    if np.isfinite(spread):              # scipy's moments fail on the narrowest interval
        assert abs(z.mean() - law.mean()) < 6 * spread / math.sqrt(N) + 1e-12 * abs(law.mean())


def test_the_law_test_can_fail():
    """A neighbouring interval's samples fail the KS test decisively."""
    x = varinit.fill_truncated_normal(np.empty(N), 0.0, 1.0, low=8.0, high=9.0, seed=41)
    assert stats.kstest(x, truncated_cdf(0.0, 1.0, 8.01, 9.0), method="asymp").pvalue < 1e-10
    # uniform rejection keeps the normal's shape: not a uniform on the interval
    y = varinit.fill_truncated_normal(np.empty(N), 0.0, 1.0, low=0.3, high=0.6, seed=41)
    assert stats.kstest(y, stats.uniform(0.3, 0.3).cdf, method="asymp").pvalue < 1e-10


NARROW = [np.float16, ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2]


@pytest.mark.parametrize("dtype", [np.float32, np.float64] + NARROW, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("mean,stddev,low,high", INTERVALS[:11], ids=_ids(INTERVALS[:11]))
def test_every_element_inside_in_every_dtype(dtype, mean, stddev, low, high):
    x = varinit.fill_truncated_normal(np.empty(1 << 16, dtype), mean, stddev, low=low, high=high,
                                      seed=5)
    wide = x.astype(np.float64)
    assert np.isfinite(wide).all()
    assert wide.min() >= low and wide.max() <= high


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_split_fills_and_threads_give_the_same_bits(dtype):
    n = 3 * 4096 * 16 + 555
    for mean, stddev, low, high in INTERVALS:
        def fill(count, offset=0, threads=1):
            with varinit.num_threads(threads):
                return varinit.fill_truncated_normal(np.empty(count, dtype), mean, stddev,
                                                     low=low, high=high, seed=9, offset=offset)
        try:
            whole = fill(n)
        except ValueError:               # no float16 value in the interval
            assert dtype == np.float16
            continue
        assert np.array_equal(whole, fill(n, threads=2))
        cut = [0, 1, 4095, 4097, 70_000, n]
        parts = [fill(b - a, offset=a) for a, b in zip(cut, cut[1:])]
        assert np.array_equal(whole.view(np.uint8), np.concatenate(parts).view(np.uint8))


SENTINEL = 7.0


@pytest.mark.parametrize("kwargs,match", [
    ({"low": float("nan")}, "NaN"),
    ({"high": float("nan")}, "NaN"),
    ({"low": 1.0, "high": 1.0}, "less than"),
    ({"low": 2.0, "high": 1.0}, "less than"),
    ({"low": -math.inf, "high": math.inf}, "fill_normal"),
    ({"low": math.inf}, "less than"),
    ({"high": -math.inf}, "less than"),
    ({"low": "0", "high": 1.0}, None),
])
def test_bad_bounds(kwargs, match):
    out = np.full(64, SENTINEL, np.float32)
    error = TypeError if match is None else ValueError
    with pytest.raises(error, match=match):
        varinit.fill_truncated_normal(out, 0.0, 1.0, seed=0, **kwargs)
    assert np.all(out == SENTINEL)


@pytest.mark.parametrize("dtype,low,high", [
    (np.float16, 1.0001, 1.0002),                 # between two float16 values
    (ml_dtypes.bfloat16, 1.001, 1.002),
    (np.float32, 1.0 + 2.0**-30, 1.0 + 2.0**-29),
    (np.float16, 70000.0, math.inf),              # beyond float16's range
])
def test_bounds_empty_in_the_output_dtype(dtype, low, high):
    out = np.full(64, SENTINEL, dtype)
    with pytest.raises(ValueError):
        varinit.fill_truncated_normal(out, 0.0, 1.0, low=low, high=high, seed=0)
    assert np.all(out.astype(np.float64) == SENTINEL)


def test_initializer_keywords_and_config():
    init = varinit.TruncatedNormal(0.0, 1.0, seed=3, low=0.5, high=math.inf)
    config = init.get_config()
    assert config["low"] == 0.5 and config["high"] == math.inf
    again = varinit.TruncatedNormal.from_config(config)
    assert np.array_equal(again((100, 10)), init((100, 10)))
    assert np.array_equal(init((1000,)), varinit.fill_truncated_normal(
        np.empty(1000, np.float32), 0.0, 1.0, low=0.5, high=math.inf, seed=3))
    default = varinit.TruncatedNormal(seed=3).get_config()
    assert "low" not in default and "high" not in default
    with pytest.raises(ValueError):
        varinit.TruncatedNormal(low=1.0, high=0.0)
