"""The distribution table: name, C kernel, parameters and their exact rounding.

One :class:`Distribution` row per distribution the fill API offers.  The
fill functions, the initializers' plans and the benchmark code look
distributions up here by name; nothing else matches distribution names.
A row turns its two parameters into the C kernel's parameters
(``vi_params`` fields by name) for one output dtype, rounding bounds inward
(``varinit._ieee``) so that every value the kernel writes lies inside them.
Adding a distribution is one row here plus its C kernel slots
(``docs/architecture.md``).
"""
from __future__ import annotations

import decimal
import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from . import _core, _ieee
from .dtypes import DType, by_code

__all__ = ["Distribution", "DISTRIBUTIONS", "Kernel", "get"]

# |z| of a ziggurat candidate never exceeds r + sqrt(-2 ln open_min): about
# 8.5 for the float32 stream (open >= 2**-25) and 12.1 for float64 (2**-54).
MAX_ABS_Z = 13
#: Half-width, in standard deviations, of the default truncation (Keras's).
TRUNCATION = 2


def _scalar(value: Any) -> Any:
    """A 0-d numeric array as its scalar (``np.array(0.1)`` as a parameter)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return value[()]
    return value


def _number(value: Any, name: str) -> Fraction:
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return _ieee.exact(value)


def _stream_params(stream: DType, **values: float) -> dict:
    """Name the parameters for the float32 (``_f`` suffix) or float64 stream."""
    suffix = "_f" if stream.bits == 32 else ""
    return {f"{k}{suffix}": v for k, v in values.items()}


def _narrow_clamp(fmt: DType, lo: Fraction | float, hi: Fraction | float,
                  open_top: bool) -> dict:
    """Clamp patterns of a narrow format: the first and last value of ``fmt``
    inside ``[lo, hi]`` (``[lo, hi)`` with ``open_top``); an infinite bound
    is the largest finite value."""
    first = -fmt.max_bits if lo == -math.inf else _ieee.round_inward(fmt, lo, up=True)
    last = fmt.max_bits if hi == math.inf else _ieee.round_inward(fmt, hi, up=False)
    if last is not None and open_top and _ieee.value(fmt, _ieee.bits_of(fmt, last)) == hi:
        last -= 1
    if first is None or last is None or first > last:
        raise ValueError(f"no {fmt.name} value lies in "
                         f"[{float(lo)!r}, {float(hi)!r}{')' if open_top else ']'}")
    return {"clamp_lo": _ieee.bits_of(fmt, first), "clamp_hi": _ieee.bits_of(fmt, last)}


Kernel = tuple[int, dict]      # (C distribution code, vi_params fields by name)


@functools.lru_cache(maxsize=512)      # initializers repeat the same few parameter sets
def _uniform(lo: Fraction, hi: Fraction, code: int) -> Kernel:
    if lo >= hi:
        raise ValueError(f"low must be less than high, got low={float(lo)!r}, high={float(hi)!r}")
    fmt = by_code(code)
    for x, name in ((lo, "low"), (hi, "high")):
        _ieee.check_finite_in(fmt, x, name)
    stream = by_code(fmt.stream)
    base = _ieee.round_inward(stream, lo, up=True)
    top = _ieee.round_inward(stream, hi, up=False)
    if top is not None and _ieee.at_key(stream, top) == hi:
        top -= 1                                   # [low, high): high itself excluded
    if base is None or top is None or base > top:
        raise ValueError(f"no {stream.name} value lies in [{float(lo)!r}, {float(hi)!r})")
    params = _stream_params(stream, base=_ieee.at_key(stream, base), top=_ieee.at_key(stream, top),
                            width=_ieee.nearest(stream, hi - lo, "high - low"))
    if stream != fmt:
        params.update(_narrow_clamp(fmt, lo, hi, open_top=True))
    return _core.DIST_UNIFORM, params


def _normal_common(mu: Fraction, sigma: Fraction, fmt: DType) -> tuple[DType, float, float]:
    if sigma <= 0:
        raise ValueError(f"stddev must be positive, got {float(sigma)!r}")
    stream = by_code(fmt.stream)
    mean_s = _ieee.nearest(stream, mu, "mean")
    stddev_s = _ieee.nearest(stream, sigma, "stddev")
    if stddev_s <= 0:
        raise ValueError(f"stddev={float(sigma)!r} underflows to 0 in {stream.name}")
    return stream, mean_s, stddev_s


def _check_reach(fmt: DType, mu: Fraction, sigma: Fraction, sides: tuple[int, ...]) -> None:
    reach = MAX_ABS_Z * sigma
    for side in sides:
        sign = "+" if side > 0 else "-"
        _ieee.check_finite_in(fmt, mu + side * reach,
                              f"mean {sign} 13*stddev (the largest possible deviate)")


@functools.lru_cache(maxsize=512)
def _normal(mu: Fraction, sigma: Fraction, code: int) -> Kernel:
    fmt = by_code(code)
    stream, mean_s, stddev_s = _normal_common(mu, sigma, fmt)
    _check_reach(fmt, mu, sigma, (-1, 1))
    params = _stream_params(stream, mean=mean_s, stddev=stddev_s, lo=-math.inf, hi=math.inf)
    if stream != fmt:
        params.update(clamp_lo=_ieee.bits_of(fmt, -fmt.max_bits), clamp_hi=fmt.max_bits)
    return _core.DIST_NORMAL, params


# Region thresholds of the truncated normal (docs/stream.md 5.5).  An
# interval holding the mean uses the ziggurat once one side reaches
# NORMAL_REACH standard deviations (acceptance >= Phi(1.5) - 1/2 = 0.43),
# uniform rejection below that (acceptance >= 0.72).
NORMAL_REACH = Fraction(3, 2)
# An interval inside [-2, 2] standard deviations that reaches past ±1.9 on
# both sides (the default mean ± 2σ, whatever the inward rounding) uses the
# ziggurat of N(0, 1) on [-2, 2]: no candidate lands outside ±2, and at most
# 1.3 % of those fall outside the interval.
TRUNCATED_REACH = Fraction(TRUNCATION)
TRUNCATED_NEAR = Fraction(19, 10)
# Largest value of -ln(1 - unit * cut) in either stream (-ln 2**-53 = 36.7):
# how far an exponential candidate can reach, in units of 1/lambda.
_MAX_EXPONENTIAL = 40
_DECIMAL = decimal.Context(prec=40)


def _decimal(x: Fraction) -> decimal.Decimal:
    return _DECIMAL.divide(decimal.Decimal(x.numerator), decimal.Decimal(x.denominator))


def _flat_beats_tail(a: Fraction, width: Fraction) -> bool:
    """Robert's (1995) rule for an interval ``[a, a + width]``, ``a > 0``
    (standardised): uniform rejection accepts better than the exponential
    exactly when ``width < 2 sqrt(e) / (a + s) * exp(-a / (a + s))``,
    ``s = sqrt(a**2 + 4)`` (the textbook form with ``a**2 - a*s`` rewritten
    without cancellation).  Evaluated in 40-digit decimal arithmetic, which
    is the same on every platform."""
    if math.isinf(width):
        return False
    c, ad = _DECIMAL, _decimal(a)
    s = c.sqrt(c.add(c.multiply(ad, ad), 4))
    den = c.add(ad, s)
    cutoff = c.multiply(c.divide(c.multiply(2, c.exp(decimal.Decimal("0.5"))), den),
                        c.exp(c.minus(c.divide(ad, den))))
    return _decimal(width) < cutoff


def _exponential_cut(lam: float, width: Fraction | float) -> Fraction:
    """``1 - exp(-lam * width)``, the mass an Exp(lam) puts on [0, width]
    (1 for an open interval), in 40-digit decimal arithmetic: the tail
    kernel draws its exponential truncated to the interval."""
    if math.isinf(width):
        return Fraction(1)
    c = _DECIMAL
    return Fraction(c.subtract(1, c.exp(c.minus(c.multiply(decimal.Decimal(lam), _decimal(width))))))


def _standardised(x: Fraction | float, mean: float, stddev: float) -> Fraction | float:
    return x if isinstance(x, float) else (x - _ieee.exact(mean)) / _ieee.exact(stddev)


def _stream_bound(stream: DType, x: Fraction | float, up: bool) -> float:
    if isinstance(x, float):                # an open side
        return x
    key = _ieee.round_inward(stream, x, up=up)
    assert key is not None                  # finite in the output dtype, so in its stream
    return _ieee.at_key(stream, key)


@functools.lru_cache(maxsize=512)
def _truncated_normal(mu: Fraction, sigma: Fraction, code: int,
                      low: Fraction | float | None = None,
                      high: Fraction | float | None = None) -> Kernel:
    fmt = by_code(code)
    stream, mean_s, stddev_s = _normal_common(mu, sigma, fmt)
    lo = mu - TRUNCATION * sigma if low is None else low
    hi = mu + TRUNCATION * sigma if high is None else high
    if isinstance(lo, float) and isinstance(hi, float):
        raise ValueError("low=-inf and high=inf is the untruncated normal: use fill_normal "
                         "(RandomNormal)")
    if not lo < hi:
        raise ValueError(f"low must be less than high, got low={float(lo)!r}, high={float(hi)!r}")
    for x, name in ((lo, "low"), (hi, "high")):
        if not isinstance(x, float):
            _ieee.check_finite_in(fmt, x, name)
    lo_s, hi_s = _stream_bound(stream, lo, up=True), _stream_bound(stream, hi, up=False)
    if not lo_s <= hi_s:
        why = (f": stddev={float(sigma)!r} is too small to resolve at mean={float(mu)!r}"
               if low is None and high is None else "")
        raise ValueError(f"no {stream.name} value lies in [{float(lo)!r}, {float(hi)!r}]{why}")
    a = _standardised(_ieee.exact(lo_s) if math.isfinite(lo_s) else lo_s, mean_s, stddev_s)
    b = _standardised(_ieee.exact(hi_s) if math.isfinite(hi_s) else hi_s, mean_s, stddev_s)
    values: dict = {"lo": lo_s, "hi": hi_s, "mean": mean_s}
    if TRUNCATED_NEAR <= -a <= TRUNCATED_REACH and TRUNCATED_NEAR <= b <= TRUNCATED_REACH:
        dist = _core.DIST_NORMAL_TRUNC          # the ziggurat of N(0, 1) on [-2, 2]
        values["stddev"] = stddev_s
    elif a <= 0 <= b:
        if max(-a, b) >= NORMAL_REACH:
            dist = _core.DIST_NORMAL
            values["stddev"] = stddev_s
            _check_reach(fmt, mu, sigma, tuple(side for side, x in ((-1, lo), (1, hi))
                                               if isinstance(x, float)))
        else:
            dist, c = _core.DIST_NORMAL_FLAT, 0.0
    else:
        above = a > 0
        near = a if above else -b                     # distance of the nearer edge
        if _flat_beats_tail(Fraction(near), b - a):
            dist, c = _core.DIST_NORMAL_FLAT, float(near)
        else:
            dist = _core.DIST_NORMAL_TAIL
            edge = float(near)
            lam = (edge + math.sqrt(edge * edge + 4.0)) / 2.0
            scale = 1.0 / lam
            base, step = (lo_s, stddev_s) if above else (hi_s, -stddev_s)
            values.update(base=base, step=step, scale=_ieee.nearest(stream, Fraction(scale), "1/lambda"),
                          shift=_ieee.nearest(stream, Fraction(edge - lam), "a - lambda"),
                          cut=_ieee.nearest(stream, _exponential_cut(lam, b - a), "1 - exp(-lambda w)"))
            if isinstance(hi if above else lo, float):
                reach = _ieee.exact(base) + _ieee.exact(step) * _MAX_EXPONENTIAL * _ieee.exact(scale)
                _ieee.check_finite_in(fmt, reach, "the farthest exponential candidate")
    if dist == _core.DIST_NORMAL_FLAT:
        values.update(width=_ieee.nearest(stream, _ieee.exact(hi_s) - _ieee.exact(lo_s), "high - low"),
                      scale=_ieee.nearest(stream, Fraction(1.0 / stddev_s), "1/stddev"),
                      shift=_ieee.nearest(stream, Fraction(c * c), "c**2"))
    params = _stream_params(stream, **values)
    if stream != fmt:
        params.update(_narrow_clamp(fmt, lo, hi, open_top=False))
    return dist, params


def _bound(value: Any, name: str) -> Fraction | float | None:
    """A truncation bound: None (the default), a finite Fraction or +-inf."""
    if value is None:
        return None
    value = _scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number or None, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must not be NaN")
    return value if math.isinf(value) else _ieee.exact(value)


@dataclass(frozen=True)
class Distribution:
    """One distribution of the fill API."""

    name: str                               # "uniform", "normal", "truncated_normal"
    arguments: tuple[str, str]              # names of its two parameters
    _kernel: Callable[..., Kernel]
    bounds: str                             # where its values lie, for docs and messages
    options: tuple[str, ...] = ()           # keyword options (None: the default)

    def kernel(self, a: Any, b: Any, fmt: DType, **options: Any) -> Kernel:
        """The C kernel and its parameters for ``(a, b)`` written as ``fmt``.

        Parameters
        ----------
        a, b : float
            The two parameters, in the order of :attr:`arguments`.
        fmt : DType
            The output dtype's row.
        **options
            The keyword options of :attr:`options` (``low``, ``high`` for
            the truncated normal); None or absent means the default.

        Returns
        -------
        (int, dict)
            The C distribution code (the truncated normal picks one by the
            interval, ``docs/stream.md`` 5.5) and the ``vi_params`` fields
            by name (a fresh copy).

        Raises
        ------
        TypeError
            For parameters that are not real numbers, or an unknown option.
        ValueError
            For parameters out of range or not representable in ``fmt``.
        """
        unknown = set(options) - set(self.options)
        if unknown:
            raise TypeError(f"{self.name} takes no option {sorted(unknown)[0]!r}")
        first, second = self.arguments
        extra = {k: _bound(v, k) for k, v in options.items() if v is not None}
        dist, params = self._kernel(_number(a, first), _number(b, second), fmt.code, **extra)
        return dist, dict(params)


DISTRIBUTIONS: dict[str, Distribution] = {d.name: d for d in (
    Distribution("uniform", ("low", "high"), _uniform, "low <= x < high"),
    Distribution("normal", ("mean", "stddev"), _normal, "unbounded (|x - mean| < 13 stddev)"),
    Distribution("truncated_normal", ("mean", "stddev"), _truncated_normal,
                 "low <= x <= high (default mean -+ 2 stddev)", ("low", "high")),
)}


def get(name: str) -> Distribution:
    """The row called ``name``.

    Raises
    ------
    ValueError
        For a name not in :data:`DISTRIBUTIONS`.
    """
    try:
        return DISTRIBUTIONS[name]
    except KeyError:
        raise ValueError(f"unknown distribution {name!r}; known: "
                         + ", ".join(DISTRIBUTIONS)) from None
