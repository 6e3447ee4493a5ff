"""Exact IEEE arithmetic on the formats of the dtype table.

Kernel parameters are computed from exact rationals (``fractions.Fraction``)
and rounded once, in a chosen direction: bounds are rounded *inward*, so the
kernels can guarantee that every written value lies inside them, and
parameters are rounded to nearest without the double rounding a cast
through float64 would add.  Values are walked as *keys*: sign-magnitude bit
patterns mapped to integers in value order, so "the next representable
value" is ``key + 1``.
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from .dtypes import DType

__all__ = ["value", "key_of", "bits_of", "round_inward", "nearest", "check_finite_in",
           "largest", "at_key"]


def _float_view(fmt: DType) -> tuple[np.dtype, np.dtype, int]:
    """(storage, float dtype, shift) to read a pattern of ``fmt`` through numpy:
    bfloat16 is the top half of a float32; float8 needs ``ml_dtypes``."""
    if fmt.ml_dtypes == "bfloat16":
        return np.dtype(np.uint32), np.dtype(np.float32), 16
    return fmt.storage, fmt.numpy, 0


def value(fmt: DType, bits: int) -> Fraction:
    """Exact value of bit pattern ``bits`` of format ``fmt``."""
    storage, floating, shift = _float_view(fmt)
    return Fraction(float(np.array(bits << shift, storage).view(floating)))


def key_of(fmt: DType, bits: int) -> int:
    """Sign-magnitude bit pattern -> integer in value order."""
    sign = 1 << (fmt.bits - 1)
    return -(bits & ~sign) if bits & sign else bits


def bits_of(fmt: DType, key: int) -> int:
    """Inverse of :func:`key_of` (``-0`` becomes ``+0``)."""
    return (1 << (fmt.bits - 1)) | -key if key < 0 else key


def largest(fmt: DType) -> Fraction:
    """The largest finite value of ``fmt``."""
    return value(fmt, fmt.max_bits)


def _cast_bits(fmt: DType, x: float) -> int:
    """Bit pattern of ``x`` cast to ``fmt``: within an ulp or two of exact."""
    storage, floating, shift = _float_view(fmt)
    with np.errstate(over="ignore"):
        return int(np.array(x, floating).view(storage)) >> shift   # bfloat16: truncation


def round_inward(fmt: DType, x: Fraction, up: bool) -> int | None:
    """Key of the least representable value >= x (``up``) or the greatest
    <= x, or None if that is not finite."""
    top = fmt.max_bits
    if (up and value(fmt, top) < x) or (not up and value(fmt, bits_of(fmt, -top)) > x):
        return None
    # Start from a cast (at most an ulp or two off), then step exactly.
    key = max(-top, min(top, key_of(fmt, _cast_bits(fmt, float(x)))))
    if up:
        while value(fmt, bits_of(fmt, key)) < x:
            key += 1
        while key > -top and value(fmt, bits_of(fmt, key - 1)) >= x:
            key -= 1
    else:
        while value(fmt, bits_of(fmt, key)) > x:
            key -= 1
        while key < top and value(fmt, bits_of(fmt, key + 1)) <= x:
            key += 1
    return key


def at_key(fmt: DType, key: int) -> float:
    """The value of key ``key`` as a Python float (exact: every format of
    the table is a subset of float64)."""
    return float(value(fmt, bits_of(fmt, key)))


def nearest(fmt: DType, x: Fraction, name: str) -> float:
    """x rounded to nearest (ties to even) in ``fmt``, as a float.

    Exact: a cast through float64 would round twice."""
    check_finite_in(fmt, x, name)
    if fmt.bits == 64:
        return float(x)                      # Fraction.__float__ rounds once
    below, above = round_inward(fmt, x, up=False), round_inward(fmt, x, up=True)
    assert below is not None and above is not None       # x is finite in fmt
    lo, hi = value(fmt, bits_of(fmt, below)), value(fmt, bits_of(fmt, above))
    if x - lo != hi - x:
        return float(lo if x - lo < hi - x else hi)
    return float(lo if bits_of(fmt, below) % 2 == 0 else hi)   # tie: even mantissa


def check_finite_in(fmt: DType, x: Fraction, name: str) -> None:
    """Raise ``ValueError`` if ``x`` is beyond ``fmt``'s largest finite value."""
    if abs(x) > largest(fmt):
        raise ValueError(f"{name}={float(x)!r} is not finite in {fmt.name}")
