"""Shared expectations for the initializer tests, computed independently of varinit.

Each case names an initializer factory and, for a shape, the fill call that
must reproduce it (written from the Keras formulas, not from varinit's code)
and the exact distribution (scipy.stats) its values follow.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np
import scipy.special as sp
import scipy.stats as st

import varinit

C = 0.87962566103423978  # std of N(0, 1) restricted to [-2, 2]

try:
    import ml_dtypes
    BF16 = np.dtype(ml_dtypes.bfloat16)
    FLOAT8 = [np.dtype(ml_dtypes.float8_e4m3fn), np.dtype(ml_dtypes.float8_e5m2)]
except ImportError:  # pragma: no cover
    BF16, FLOAT8 = None, []


def keras_fans(shape):
    """Keras's fan rules, written out again for the tests."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


@dataclass(frozen=True)
class Draw:
    """The fill call an initializer must equal: ``fill_<kind>(out, a, b)``
    (and ``low=``, ``high=`` for a truncated normal with explicit bounds)."""
    kind: str          # "uniform", "normal", "truncated_normal"
    a: float           # low or mean
    b: float           # high or stddev
    low: float | None = None
    high: float | None = None

    def fill(self, out, seed, offset=0):
        fn = {"uniform": varinit.fill_uniform, "normal": varinit.fill_normal,
              "truncated_normal": varinit.fill_truncated_normal}[self.kind]
        extra = {} if self.low is None and self.high is None else {"low": self.low, "high": self.high}
        return fn(out, self.a, self.b, seed=seed, offset=offset, **extra)

    def standard_bounds(self):
        """The truncation interval in standard units (±inf for an open side)."""
        lo = -2.0 if self.low is None else (self.low - self.a) / self.b
        hi = 2.0 if self.high is None else (self.high - self.a) / self.b
        return lo, hi

    def distribution(self):
        if self.kind == "uniform":
            return st.uniform(self.a, self.b - self.a)
        if self.kind == "normal":
            return st.norm(self.a, self.b)
        return st.truncnorm(*self.standard_bounds(), loc=self.a, scale=self.b)

    def cdf(self, x):
        """The exact CDF; the truncated one via ``ndtr``, much faster than
        ``truncnorm.cdf``, taken from the nearer tail so that intervals far
        from the mean keep their precision."""
        if self.kind != "truncated_normal":
            return self.distribution().cdf(x)
        a, b = self.standard_bounds()
        z = np.clip((x - self.a) / self.b, a, b)
        if a > 0:                    # upper tail: survival functions
            return (sp.ndtr(-a) - sp.ndtr(-z)) / (sp.ndtr(-a) - sp.ndtr(-b))
        return (sp.ndtr(z) - sp.ndtr(a)) / (sp.ndtr(b) - sp.ndtr(a))

    def exact_bounds(self):
        """(lo, hi, hi_open) as exact Fractions (±inf floats for an open side),
        or None for an unbounded normal."""
        if self.kind == "uniform":
            return Fraction(self.a), Fraction(self.b), True
        if self.kind == "truncated_normal":
            m, s = Fraction(self.a), Fraction(self.b)
            lo = m - 2 * s if self.low is None else _exact_or_inf(self.low)
            hi = m + 2 * s if self.high is None else _exact_or_inf(self.high)
            return lo, hi, False
        return None


def _exact_or_inf(x: float):
    return x if math.isinf(x) else Fraction(x)


def _truncated(mean, stddev, low, high):
    return Draw("truncated_normal", mean, stddev, low, high)


def variance_scaling_draw(scale, mode, distribution, shape):
    fan_in, fan_out = keras_fans(shape)
    n = {"fan_in": max(1.0, fan_in), "fan_out": max(1.0, fan_out),
         "fan_avg": max(1.0, (fan_in + fan_out) / 2.0)}[mode]
    s = scale / n
    if distribution == "truncated_normal":
        return Draw("truncated_normal", 0.0, math.sqrt(s) / C)
    if distribution == "untruncated_normal":
        return Draw("normal", 0.0, math.sqrt(s))
    limit = math.sqrt(3.0 * s)
    return Draw("uniform", -limit, limit)


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[object], varinit.Initializer]     # seed -> initializer
    draw: Callable[[tuple], Draw]                     # shape -> expected fill call


CASES = [
    Case("RandomUniform", lambda s: varinit.RandomUniform(seed=s),
         lambda shape: Draw("uniform", -0.05, 0.05)),
    Case("RandomUniform(-3,7)", lambda s: varinit.RandomUniform(-3, 7, seed=s),
         lambda shape: Draw("uniform", -3, 7)),
    Case("RandomNormal", lambda s: varinit.RandomNormal(seed=s),
         lambda shape: Draw("normal", 0.0, 0.05)),
    Case("RandomNormal(1,2)", lambda s: varinit.RandomNormal(1.0, 2.0, seed=s),
         lambda shape: Draw("normal", 1.0, 2.0)),
    Case("TruncatedNormal", lambda s: varinit.TruncatedNormal(seed=s),
         lambda shape: Draw("truncated_normal", 0.0, 0.05)),
    Case("TruncatedNormal(0.5,3)", lambda s: varinit.TruncatedNormal(0.5, 3.0, seed=s),
         lambda shape: Draw("truncated_normal", 0.5, 3.0)),
    # Other truncation intervals: each kernel of docs/stream.md 5.5, either side
    Case("TruncatedNormal[0.5,0.6]", lambda s: varinit.TruncatedNormal(0.0, 1.0, s, 0.5, 0.6),
         lambda shape: _truncated(0.0, 1.0, 0.5, 0.6)),                 # narrow: uniform rejection
    Case("TruncatedNormal[3σ,inf)", lambda s: varinit.TruncatedNormal(0.1, 2.0, s, 6.1, math.inf),
         lambda shape: _truncated(0.1, 2.0, 6.1, math.inf)),            # one-sided tail
    Case("TruncatedNormal[-9σ,-8σ]", lambda s: varinit.TruncatedNormal(0.0, 0.5, s, -4.5, -4.0),
         lambda shape: _truncated(0.0, 0.5, -4.5, -4.0)),               # deep tail below
    Case("TruncatedNormal(-inf,0.4σ]", lambda s: varinit.TruncatedNormal(1.0, 0.5, s, -math.inf, 1.2),
         lambda shape: _truncated(1.0, 0.5, -math.inf, 1.2)),           # one-sided, holds the mean
    Case("GlorotUniform", lambda s: varinit.GlorotUniform(seed=s),
         lambda shape: variance_scaling_draw(1.0, "fan_avg", "uniform", shape)),
    Case("GlorotNormal", lambda s: varinit.GlorotNormal(seed=s),
         lambda shape: variance_scaling_draw(1.0, "fan_avg", "truncated_normal", shape)),
    Case("HeUniform", lambda s: varinit.HeUniform(seed=s),
         lambda shape: variance_scaling_draw(2.0, "fan_in", "uniform", shape)),
    Case("HeNormal", lambda s: varinit.HeNormal(seed=s),
         lambda shape: variance_scaling_draw(2.0, "fan_in", "truncated_normal", shape)),
    Case("LecunUniform", lambda s: varinit.LecunUniform(seed=s),
         lambda shape: variance_scaling_draw(1.0, "fan_in", "uniform", shape)),
    Case("LecunNormal", lambda s: varinit.LecunNormal(seed=s),
         lambda shape: variance_scaling_draw(1.0, "fan_in", "truncated_normal", shape)),
    Case("VS(0.5,fan_out,untruncated)",
         lambda s: varinit.VarianceScaling(0.5, "fan_out", "untruncated_normal", seed=s),
         lambda shape: variance_scaling_draw(0.5, "fan_out", "untruncated_normal", shape)),
    Case("VS(3,fan_avg,normal)",
         lambda s: varinit.VarianceScaling(3.0, "fan_avg", "normal", seed=s),
         lambda shape: variance_scaling_draw(3.0, "fan_avg", "truncated_normal", shape)),
    Case("VS(1.5,fan_out,uniform)",
         lambda s: varinit.VarianceScaling(1.5, "fan_out", "uniform", seed=s),
         lambda shape: variance_scaling_draw(1.5, "fan_out", "uniform", shape)),
]
CASE_IDS = [c.name for c in CASES]


# ---- low precision: the definition of issue 3, written with numpy/ml_dtypes ----

def _step(value, dtype, up):
    """Next representable value of a 1- or 2-byte float dtype, toward +inf
    (up) or -inf."""
    storage = np.dtype(f"u{np.dtype(dtype).itemsize}")
    sign = 1 << (8 * storage.itemsize - 1)
    bits = int(np.array(value, dtype).view(storage))
    negative, magnitude = bits & sign, bits & (sign - 1)
    if magnitude == 0:
        bits = 1 if up else sign | 1
    elif (not negative) == up:
        bits += 1
    else:
        bits -= 1
    return np.array(bits, storage).view(dtype)[()]


def largest(dtype):
    """The largest finite value of a low-precision dtype."""
    dtype = np.dtype(dtype)
    if dtype == np.float16:
        return np.array(65504.0).astype(dtype)
    return np.array(float(ml_dtypes.finfo(dtype).max)).astype(dtype)


def inward(bound, dtype, up, open_bound=False):
    """The dtype value nearest to the exact ``bound`` on its inner side."""
    value = np.array(float(bound)).astype(dtype)[()]
    if up:
        while Fraction(float(value)) < bound:
            value = _step(value, dtype, True)
    else:
        while Fraction(float(value)) > bound or (open_bound and Fraction(float(value)) == bound):
            value = _step(value, dtype, False)
    return value


def expected_low_precision(stream32, draw, dtype):
    """RNE of the float32 stream, clamped into the bounds rounded inward
    (float8 e4m3fn has no infinity: what rounds past its largest value is
    clamped as an infinity would be)."""
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = stream32.astype(dtype)
    bounds = draw.exact_bounds()
    if bounds is None:
        top = largest(dtype)
        lo, hi = -top, top
    else:
        low, high, high_open = bounds
        top = largest(dtype)
        lo = -top if low == -math.inf else inward(low, dtype, up=True)
        hi = top if high == math.inf else inward(high, dtype, up=False, open_bound=high_open)
    as64 = rounded.astype(np.float64)
    as64 = np.where(np.isnan(as64), np.sign(stream32) * np.inf, as64)
    result = np.where(as64 < float(lo), lo, np.where(as64 > float(hi), hi, rounded))
    return result.astype(dtype)
