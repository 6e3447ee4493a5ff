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

import struct
from fractions import Fraction

from .dtypes import DType, lookup_name

__all__ = ["value", "key_of", "bits_of", "round_inward", "nearest", "check_finite_in",
           "largest", "at_key", "exact"]

# Everything here is integer arithmetic on bit patterns and Fractions: no
# float operation, so the results do not depend on the calling thread's
# floating-point mode (denormals flushed to zero by FTZ/DAZ, as JAX's
# callback threads and fast-math libraries leave it, or another rounding).


def _layout(fmt: DType) -> tuple[int, int]:
    """(mantissa bits, exponent bias) of a float format of the table."""
    exponent = fmt.bits - 1 - fmt.mantissa
    return fmt.mantissa, (1 << (exponent - 1)) - 1


def _scaled(x: Fraction, k: int) -> Fraction:
    """x * 2**k, exactly."""
    return x * (1 << k) if k >= 0 else x / (1 << -k)


def value(fmt: DType, bits: int) -> Fraction:
    """Exact value of the finite bit pattern ``bits`` of format ``fmt``."""
    mantissa, bias = _layout(fmt)
    sign = bits >> (fmt.bits - 1) & 1
    exponent = bits >> mantissa & ((1 << (fmt.bits - 1 - mantissa)) - 1)
    fraction = bits & ((1 << mantissa) - 1)
    if exponent == 0:                                    # zero and subnormals
        magnitude = _scaled(Fraction(fraction), 1 - bias - mantissa)
    else:
        magnitude = _scaled(Fraction(fraction | 1 << mantissa), exponent - bias - mantissa)
    return -magnitude if sign else magnitude


def _magnitude_floor(fmt: DType, x: Fraction) -> int:
    """Bit pattern of the greatest non-negative value <= x (x >= 0), capped at
    the largest finite pattern."""
    if x == 0:
        return 0
    mantissa, bias = _layout(fmt)
    exponent = x.numerator.bit_length() - x.denominator.bit_length()
    if _scaled(Fraction(1), exponent) > x:
        exponent -= 1                                    # now 2**exponent <= x < 2**(exponent+1)
    if exponent < 1 - bias:                              # subnormal: a multiple of the smallest
        pattern = int(_scaled(x, mantissa - (1 - bias)))  # int() of a Fraction >= 0 floors
    else:
        significand = int(_scaled(x, mantissa - exponent))
        pattern = (exponent + bias) << mantissa | (significand - (1 << mantissa))
    return min(pattern, fmt.max_bits)


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


def _magnitude_ceil(fmt: DType, x: Fraction) -> int | None:
    """Pattern of the least value >= x (x >= 0), or None beyond the largest finite."""
    if x > largest(fmt):
        return None
    below = _magnitude_floor(fmt, x)
    return below if value(fmt, below) == x else below + 1


def round_inward(fmt: DType, x: Fraction, up: bool) -> int | None:
    """Key of the least representable value >= x (``up``) or the greatest
    <= x, or None if that is not finite."""
    if (x >= 0) == up:        # away from zero: the magnitude rounds up
        magnitude = _magnitude_ceil(fmt, abs(x))
        return None if magnitude is None else (magnitude if x >= 0 else -magnitude)
    magnitude = _magnitude_floor(fmt, abs(x))
    return magnitude if x >= 0 else -magnitude


_FLOAT64 = lookup_name("float64")


def exact(x: float) -> Fraction:
    """The exact value of a finite Python float, read from its bits:
    ``Fraction(x)`` computes, so under denormals-are-zero it reads a
    subnormal as 0."""
    return value(_FLOAT64, int.from_bytes(struct.pack("<d", x), "little"))


def at_key(fmt: DType, key: int) -> float:
    """The value of key ``key`` as a Python float: exact (every format of the
    table is a subset of float64), built from its float64 bit pattern."""
    x = value(fmt, bits_of(fmt, key))
    pattern = _magnitude_floor(_FLOAT64, abs(x)) | (1 << 63 if x < 0 else 0)
    return struct.unpack("<d", pattern.to_bytes(8, "little"))[0]


def nearest(fmt: DType, x: Fraction, name: str) -> float:
    """x rounded to nearest (ties to even) in ``fmt``, as a float.

    Exact: a cast through float64 would round twice."""
    check_finite_in(fmt, x, name)
    below, above = round_inward(fmt, x, up=False), round_inward(fmt, x, up=True)
    assert below is not None and above is not None       # x is finite in fmt
    lo, hi = value(fmt, bits_of(fmt, below)), value(fmt, bits_of(fmt, above))
    if x - lo != hi - x:
        return at_key(fmt, below if x - lo < hi - x else above)
    return at_key(fmt, below if bits_of(fmt, below) % 2 == 0 else above)   # tie: even mantissa


def check_finite_in(fmt: DType, x: Fraction, name: str) -> None:
    """Raise ``ValueError`` if ``x`` is beyond ``fmt``'s largest finite value."""
    if abs(x) > largest(fmt):
        raise ValueError(f"{name}={float(x)!r} is not finite in {fmt.name}")
