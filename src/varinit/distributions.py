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

import functools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from . import _core, _ieee
from .dtypes import DType, by_code

__all__ = ["Distribution", "DISTRIBUTIONS", "get"]

# |z| of a polar-method candidate never exceeds sqrt(-2 ln s_min): about 8.1
# for the float32 stream (s >= 2**-47) and 12.1 for float64 (s >= 2**-105).
MAX_ABS_Z = 13
#: Half-width, in standard deviations, of the truncated normal (Keras's).
TRUNCATION = 2


def _number(value: Any, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return Fraction(value)


def _stream_params(stream: DType, **values: float) -> dict:
    """Name the parameters for the float32 (``_f`` suffix) or float64 stream."""
    suffix = "_f" if stream.bits == 32 else ""
    return {f"{k}{suffix}": v for k, v in values.items()}


def _narrow_clamp(fmt: DType, lo: Fraction, hi: Fraction, open_top: bool) -> dict:
    """float16/bfloat16 clamp patterns: the first and last value of ``fmt``
    inside ``[lo, hi]`` (``[lo, hi)`` with ``open_top``)."""
    first = _ieee.round_inward(fmt, lo, up=True)
    last = _ieee.round_inward(fmt, hi, up=False)
    if last is not None and open_top and _ieee.value(fmt, _ieee.bits_of(fmt, last)) == hi:
        last -= 1
    if first is None or last is None or first > last:
        raise ValueError(f"no {fmt.name} value lies in "
                         f"[{float(lo)!r}, {float(hi)!r}{')' if open_top else ']'}")
    return {"clamp_lo": _ieee.bits_of(fmt, first), "clamp_hi": _ieee.bits_of(fmt, last)}


@functools.lru_cache(maxsize=512)      # initializers repeat the same few parameter sets
def _uniform(lo: Fraction, hi: Fraction, code: int) -> dict:
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
    return params


def _normal_common(mu: Fraction, sigma: Fraction, fmt: DType) -> tuple[DType, float, float]:
    if sigma <= 0:
        raise ValueError(f"stddev must be positive, got {float(sigma)!r}")
    stream = by_code(fmt.stream)
    mean_s = _ieee.nearest(stream, mu, "mean")
    stddev_s = _ieee.nearest(stream, sigma, "stddev")
    if stddev_s <= 0:
        raise ValueError(f"stddev={float(sigma)!r} underflows to 0 in {stream.name}")
    return stream, mean_s, stddev_s


@functools.lru_cache(maxsize=512)
def _normal(mu: Fraction, sigma: Fraction, code: int) -> dict:
    fmt = by_code(code)
    stream, mean_s, stddev_s = _normal_common(mu, sigma, fmt)
    reach = MAX_ABS_Z * sigma
    _ieee.check_finite_in(fmt, mu - reach, "mean - 13*stddev (the largest possible deviate)")
    _ieee.check_finite_in(fmt, mu + reach, "mean + 13*stddev (the largest possible deviate)")
    params = _stream_params(stream, mean=mean_s, stddev=stddev_s, lo=-math.inf, hi=math.inf)
    if stream != fmt:
        params.update(clamp_lo=_ieee.bits_of(fmt, -fmt.max_bits), clamp_hi=fmt.max_bits)
    return params


@functools.lru_cache(maxsize=512)
def _truncated_normal(mu: Fraction, sigma: Fraction, code: int) -> dict:
    fmt = by_code(code)
    stream, mean_s, stddev_s = _normal_common(mu, sigma, fmt)
    lo, hi = mu - TRUNCATION * sigma, mu + TRUNCATION * sigma
    _ieee.check_finite_in(fmt, lo, "mean - 2*stddev")
    _ieee.check_finite_in(fmt, hi, "mean + 2*stddev")
    first = _ieee.round_inward(stream, lo, up=True)
    last = _ieee.round_inward(stream, hi, up=False)
    assert first is not None and last is not None       # finite in fmt, so in its stream
    lo_s, hi_s = _ieee.at_key(stream, first), _ieee.at_key(stream, last)
    if not lo_s <= mean_s <= hi_s:
        # Candidates cluster on mean_s; if it lies outside, almost all
        # would be rejected: refuse instead of looping for ever.
        raise ValueError(f"stddev={float(sigma)!r} is too small to resolve around "
                         f"mean={float(mu)!r} in {stream.name}")
    params = _stream_params(stream, mean=mean_s, stddev=stddev_s, lo=lo_s, hi=hi_s)
    if stream != fmt:
        params.update(_narrow_clamp(fmt, lo, hi, open_top=False))
    return params


@dataclass(frozen=True)
class Distribution:
    """One distribution of the fill API."""

    name: str                               # "uniform", "normal", "truncated_normal"
    code: int                               # the C layer's distribution code
    arguments: tuple[str, str]              # names of its two parameters
    _params: Callable[[Fraction, Fraction, int], dict]
    bounds: str                             # where its values lie, for docs and messages

    def kernel_params(self, a: Any, b: Any, fmt: DType) -> dict:
        """The C kernel's parameters for ``(a, b)`` written as ``fmt``.

        Parameters
        ----------
        a, b : float
            The two parameters, in the order of :attr:`arguments`.
        fmt : DType
            The output dtype's row.

        Returns
        -------
        dict
            ``vi_params`` fields by name (a fresh copy).

        Raises
        ------
        TypeError
            For parameters that are not real numbers.
        ValueError
            For parameters out of range or not representable in ``fmt``.
        """
        first, second = self.arguments
        return dict(self._params(_number(a, first), _number(b, second), fmt.code))


DISTRIBUTIONS: dict[str, Distribution] = {d.name: d for d in (
    Distribution("uniform", _core.DIST_UNIFORM, ("low", "high"), _uniform,
                 "low <= x < high"),
    Distribution("normal", _core.DIST_NORMAL, ("mean", "stddev"), _normal,
                 "unbounded (|x - mean| < 13 stddev)"),
    Distribution("truncated_normal", _core.DIST_NORMAL, ("mean", "stddev"),
                 _truncated_normal, "mean - 2 stddev <= x <= mean + 2 stddev"),
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
