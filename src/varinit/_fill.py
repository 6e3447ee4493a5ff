"""The fill API: validate parameters, round them for the output dtype, call the core.

Parameter arithmetic is exact (``fractions.Fraction``): bounds such as
``mean - 2*stddev`` are rounded *inward* to the output dtype, so the C
kernels can guarantee every written value lies inside them.
"""
from __future__ import annotations

import functools
import math
import numbers
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from . import _core, _dispatch, _threads

__all__ = ["fill_uniform", "fill_normal", "fill_truncated_normal", "random_raw"]

# |z| of a polar-method candidate never exceeds sqrt(-2 ln s_min): about 8.1
# for the float32 stream (s >= 2**-47) and 12.1 for float64 (s >= 2**-105).
_MAX_ABS_Z = 13


class _Format(NamedTuple):
    name: str
    bits: int            # storage width
    max_bits: int        # bit pattern of the largest finite value
    stream: int          # dtype code of the stream the values come from


_FORMATS = {
    _core.DTYPE_F16: _Format("float16", 16, 0x7BFF, _core.DTYPE_F32),
    _core.DTYPE_BF16: _Format("bfloat16", 16, 0x7F7F, _core.DTYPE_F32),
    _core.DTYPE_F32: _Format("float32", 32, 0x7F7FFFFF, _core.DTYPE_F32),
    _core.DTYPE_F64: _Format("float64", 64, 0x7FEFFFFFFFFFFFFF, _core.DTYPE_F64),
}
FLOAT_CODES = frozenset(_FORMATS)


def _value(code: int, bits: int) -> Fraction:
    """Exact value of an IEEE bit pattern of format ``code``."""
    if code == _core.DTYPE_BF16:
        code, bits = _core.DTYPE_F32, bits << 16
    storage = {_core.DTYPE_F16: (np.uint16, np.float16), _core.DTYPE_F32: (np.uint32, np.float32),
               _core.DTYPE_F64: (np.uint64, np.float64)}[code]
    return Fraction(float(np.array(bits, storage[0]).view(storage[1])))


def _key(code: int, bits: int) -> int:
    """Sign-magnitude bit pattern -> integer in value order."""
    sign = 1 << (_FORMATS[code].bits - 1)
    return -(bits & ~sign) if bits & sign else bits


def _bits(code: int, key: int) -> int:
    return (1 << (_FORMATS[code].bits - 1)) | -key if key < 0 else key


def _cast_bits(code: int, x: float) -> int:
    """Bit pattern of ``x`` cast (rounded to nearest) to format ``code``."""
    if code == _core.DTYPE_BF16:
        return int(np.array(x, np.float32).view(np.uint32)) >> 16     # truncation: within 1 ulp
    kind = {_core.DTYPE_F16: (np.float16, np.uint16), _core.DTYPE_F32: (np.float32, np.uint32),
            _core.DTYPE_F64: (np.float64, np.uint64)}[code]
    with np.errstate(over="ignore"):
        return int(np.array(x, kind[0]).view(kind[1]))


def _round_inward(code: int, x: Fraction, up: bool) -> int | None:
    """Key of the least representable value >= x (``up``) or greatest <= x,
    or None if that is not finite."""
    top = _FORMATS[code].max_bits
    if (up and _value(code, top) < x) or (not up and _value(code, _bits(code, -top)) > x):
        return None
    # Start from a cast (at most an ulp or two off), then step exactly.
    key = max(-top, min(top, _key(code, _cast_bits(code, float(x)))))
    if up:
        while _value(code, _bits(code, key)) < x:
            key += 1
        while key > -top and _value(code, _bits(code, key - 1)) >= x:
            key -= 1
    else:
        while _value(code, _bits(code, key)) > x:
            key -= 1
        while key < top and _value(code, _bits(code, key + 1)) <= x:
            key += 1
    return key


def _nearest(code: int, x: Fraction, name: str) -> float:
    """x rounded to nearest (ties to even) in format ``code``, as a float.

    Exact: a cast through float64 would round twice."""
    _check_finite_in(code, x, name)
    if code == _core.DTYPE_F64:
        return float(x)                      # Fraction.__float__ rounds once
    below, above = _round_inward(code, x, up=False), _round_inward(code, x, up=True)
    lo, hi = _value(code, _bits(code, below)), _value(code, _bits(code, above))
    if x - lo != hi - x:
        return float(lo if x - lo < hi - x else hi)
    return float(lo if _bits(code, below) % 2 == 0 else hi)   # tie: even mantissa


def _number(value: Any, name: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return Fraction(value)


def _check_finite_in(code: int, x: Fraction, name: str) -> None:
    if abs(x) > _value(code, _FORMATS[code].max_bits):
        raise ValueError(f"{name}={float(x)!r} is not finite in {_FORMATS[code].name}")


def _stream_params(code: int, **values: float) -> dict:
    """Name the parameters for the float32 (``_f`` suffix) or float64 stream."""
    suffix = "_f" if code == _core.DTYPE_F32 else ""
    return {f"{k}{suffix}": v for k, v in values.items()}


def uniform_params(low: Any, high: Any, code: int) -> dict:
    """Kernel parameters for ``U[low, high)`` written as dtype ``code``.

    Parameters
    ----------
    low, high : float
        Finite bounds, ``low < high``.
    code : int
        Output dtype code (``_core.DTYPE_*``).

    Returns
    -------
    dict
        ``vi_params`` fields by name: ``base``/``width``/``top`` of the
        stream precision (``_f`` suffix for float32), and ``clamp_lo``/
        ``clamp_hi`` bit patterns for float16/bfloat16 outputs.

    Raises
    ------
    TypeError, ValueError
        For non-numbers, non-finite or empty intervals (see ``docs/stream.md``).
    """
    return dict(_uniform_params(_number(low, "low"), _number(high, "high"), code))


@functools.lru_cache(maxsize=512)      # initializers repeat the same few parameter sets
def _uniform_params(lo: Fraction, hi: Fraction, code: int) -> dict:
    if lo >= hi:
        raise ValueError(f"low must be less than high, got low={float(lo)!r}, high={float(hi)!r}")
    fmt = _FORMATS[code]
    for x, name in ((lo, "low"), (hi, "high")):
        _check_finite_in(code, x, name)
    params: dict = {}
    stream = fmt.stream
    base = _round_inward(stream, lo, up=True)
    top = _round_inward(stream, hi, up=False)
    if _value(stream, _bits(stream, top)) == hi:
        top -= 1                                   # [low, high): high itself excluded
    if base is None or top is None or base > top:
        raise ValueError(f"no {_FORMATS[stream].name} value lies in [{float(lo)!r}, {float(hi)!r})")
    params.update(_stream_params(stream, base=float(_value(stream, _bits(stream, base))),
                                 top=float(_value(stream, _bits(stream, top))),
                                 width=_nearest(stream, hi - lo, "high - low")))
    if stream != code:
        params.update(_narrow_clamp(code, lo, hi, open_top=True))
    return params


def _narrow_clamp(code: int, lo: Fraction, hi: Fraction, open_top: bool) -> dict:
    first = _round_inward(code, lo, up=True)
    last = _round_inward(code, hi, up=False)
    if last is not None and open_top and _value(code, _bits(code, last)) == hi:
        last -= 1
    if first is None or last is None or first > last:
        raise ValueError(f"no {_FORMATS[code].name} value lies in "
                         f"[{float(lo)!r}, {float(hi)!r}{')' if open_top else ']'}")
    return {"clamp_lo": _bits(code, first), "clamp_hi": _bits(code, last)}


def normal_params(mean: Any, stddev: Any, code: int, truncate: bool) -> dict:
    """Kernel parameters for ``N(mean, stddev)``, optionally truncated to ±2 stddev.

    Parameters
    ----------
    mean, stddev : float
        Finite; ``stddev > 0``.
    code : int
        Output dtype code (``_core.DTYPE_*``).
    truncate : bool
        Bounds ``mean ± 2*stddev`` rounded inward, or none.

    Returns
    -------
    dict
        ``vi_params`` fields by name (``mean``, ``stddev``, ``lo``, ``hi`` of
        the stream precision, and the float16/bfloat16 clamp bit patterns).

    Raises
    ------
    TypeError, ValueError
        As :func:`fill_normal` documents.
    """
    return dict(_normal_params(_number(mean, "mean"), _number(stddev, "stddev"), code, truncate))


@functools.lru_cache(maxsize=512)
def _normal_params(mu: Fraction, sigma: Fraction, code: int, truncate: bool) -> dict:
    if sigma <= 0:
        raise ValueError(f"stddev must be positive, got {float(sigma)!r}")
    fmt = _FORMATS[code]
    stream = fmt.stream
    mean_s = _nearest(stream, mu, "mean")
    stddev_s = _nearest(stream, sigma, "stddev")
    if stddev_s <= 0:
        raise ValueError(f"stddev={float(sigma)!r} underflows to 0 in {_FORMATS[stream].name}")
    if truncate:
        lo, hi = mu - 2 * sigma, mu + 2 * sigma
        _check_finite_in(code, lo, "mean - 2*stddev")
        _check_finite_in(code, hi, "mean + 2*stddev")
        first, last = _round_inward(stream, lo, up=True), _round_inward(stream, hi, up=False)
        lo_s, hi_s = (float(_value(stream, _bits(stream, k))) for k in (first, last))
        if not lo_s <= mean_s <= hi_s:
            # Candidates cluster on mean_s; if it lies outside, almost all
            # would be rejected: refuse instead of looping for ever.
            raise ValueError(f"stddev={float(sigma)!r} is too small to resolve around "
                             f"mean={float(mu)!r} in {_FORMATS[stream].name}")
        params = _stream_params(stream, mean=mean_s, stddev=stddev_s, lo=lo_s, hi=hi_s)
        if stream != code:
            params.update(_narrow_clamp(code, lo, hi, open_top=False))
    else:
        reach = _MAX_ABS_Z * sigma
        _check_finite_in(code, mu - reach, "mean - 13*stddev (the largest possible deviate)")
        _check_finite_in(code, mu + reach, "mean + 13*stddev (the largest possible deviate)")
        params = _stream_params(stream, mean=mean_s, stddev=stddev_s,
                                lo=-math.inf, hi=math.inf)
        if stream != code:
            params.update(clamp_lo=_bits(code, -fmt.max_bits), clamp_hi=fmt.max_bits)
    return params


def _offset(offset: Any, size: int) -> int:
    offset = _core._index(offset, "offset")
    if offset < 0:
        raise ValueError(f"offset must be non-negative, got {offset}")
    if offset + size > 1 << 63:
        raise ValueError(f"offset + out.size must not exceed 2**63, got {offset} + {size}")
    return offset


def _run(out: np.ndarray, code: int, dist: int, params: dict, seed: Any, offset: Any) -> np.ndarray:
    seed = _core._u64(seed, "seed")
    offset = _offset(offset, out.size)
    return _core.fill(out, code, dist, params, seed, offset,
                      _threads.get_num_threads(), _dispatch.active_kernel())


def fill_uniform(out: np.ndarray, low: float = 0.0, high: float = 1.0, *,
                 seed: int, offset: int = 0) -> np.ndarray:
    """Fill ``out`` in place with uniform values in ``[low, high)``.

    Parameters
    ----------
    out : numpy.ndarray
        Writable, aligned, native-endian, C-contiguous array of dtype
        float16, bfloat16 (``ml_dtypes``), float32 or float64, any shape.
        Element ``j`` (flat C order) receives stream element ``offset + j``.
    low, high : float
        Bounds; ``low < high``, both finite in ``out.dtype``.  They are
        rounded inward to the dtype: every value satisfies
        ``low <= x < high`` exactly.
    seed : int
        Stream seed in ``[0, 2**64)``.
    offset : int, optional
        Index of ``out``'s first element in the stream, so a large array can
        be filled piecewise with the same result.

    Returns
    -------
    numpy.ndarray
        ``out`` itself.

    Raises
    ------
    TypeError
        For an unsupported dtype or a non-integer seed/offset.
    ValueError
        For a read-only, non-contiguous, misaligned or byte-swapped ``out``,
        or bad parameters.  ``out`` is untouched when anything is raised
        before filling starts.

    Notes
    -----
    float32 values are ``base + u*width`` with ``u`` from the top 24 bits of
    one PCG32 draw, float64 from 53 bits of two; see ``docs/stream.md``.
    A ``KeyboardInterrupt`` during a long fill leaves ``out`` partly written.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> w = varinit.fill_uniform(np.empty((3, 4), np.float32), -0.1, 0.1, seed=7)
    >>> bool(((w >= -0.1) & (w < 0.1)).all())
    True
    """
    code = _core.check_out(out, FLOAT_CODES, "fill_uniform")
    return _run(out, code, _core.DIST_UNIFORM, uniform_params(low, high, code), seed, offset)


def fill_normal(out: np.ndarray, mean: float = 0.0, stddev: float = 1.0, *,
                seed: int, offset: int = 0) -> np.ndarray:
    """Fill ``out`` in place with normal values ``N(mean, stddev**2)``.

    Parameters
    ----------
    out : numpy.ndarray
        As for :func:`fill_uniform`.
    mean : float
        Mean, finite in ``out.dtype``.
    stddev : float
        Standard deviation, positive; ``mean ± 13*stddev`` must be finite in
        ``out.dtype`` (no deviate can exceed that).
    seed : int
        Stream seed in ``[0, 2**64)``.
    offset : int, optional
        Index of ``out``'s first element in the stream.

    Returns
    -------
    numpy.ndarray
        ``out`` itself.

    Raises
    ------
    TypeError, ValueError
        As for :func:`fill_uniform`.

    Notes
    -----
    Marsaglia's polar method, computed in float32 for float32 and narrower
    outputs and in float64 for float64, with varinit's own deterministic
    logarithm; see ``docs/stream.md``.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> x = varinit.fill_normal(np.empty(100_000), 1.0, 2.0, seed=1)
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (1.0, 2.0)
    """
    code = _core.check_out(out, FLOAT_CODES, "fill_normal")
    params = normal_params(mean, stddev, code, truncate=False)
    return _run(out, code, _core.DIST_NORMAL, params, seed, offset)


def fill_truncated_normal(out: np.ndarray, mean: float = 0.0, stddev: float = 1.0, *,
                          seed: int, offset: int = 0) -> np.ndarray:
    """Fill ``out`` in place with a normal truncated to ``mean ± 2*stddev``.

    Candidates outside the bounds are discarded and redrawn (rejection, the
    Keras definition), so the distribution is exactly the truncated normal
    and no value lies outside ``[mean - 2*stddev, mean + 2*stddev]`` (bounds
    rounded inward to ``out.dtype``).  The standard deviation of the result
    is about ``0.8796 * stddev``.

    Parameters
    ----------
    out : numpy.ndarray
        As for :func:`fill_uniform`.
    mean : float
        Centre, finite in ``out.dtype``.
    stddev : float
        Standard deviation of the untruncated normal, positive.
    seed : int
        Stream seed in ``[0, 2**64)``.
    offset : int, optional
        Index of ``out``'s first element in the stream.

    Returns
    -------
    numpy.ndarray
        ``out`` itself.

    Raises
    ------
    TypeError, ValueError
        As for :func:`fill_uniform`.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> x = varinit.fill_truncated_normal(np.empty(10_000, np.float32), 0.0, 0.05, seed=3)
    >>> bool(np.abs(x).max() <= 0.1)
    True
    """
    code = _core.check_out(out, FLOAT_CODES, "fill_truncated_normal")
    params = normal_params(mean, stddev, code, truncate=True)
    return _run(out, code, _core.DIST_NORMAL, params, seed, offset)


def random_raw(out: np.ndarray, *, seed: int, offset: int = 0) -> np.ndarray:
    """Fill a ``uint32`` buffer with the raw stream every sampler reads.

    ``out[j]`` is draw number ``(i % B) // 16`` of lane ``i % 16`` of block
    ``i // B`` for ``i = offset + j`` (``B = varinit.BLOCK``): the lanes as
    :class:`varinit.PCG32` generators seeded per ``docs/stream.md``.

    Parameters
    ----------
    out : numpy.ndarray
        Writable, aligned, native-endian, C-contiguous ``uint32`` array.
    seed : int
        Stream seed in ``[0, 2**64)``.
    offset : int, optional
        Stream index of ``out``'s first element.

    Returns
    -------
    numpy.ndarray
        ``out`` itself.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> varinit.random_raw(np.empty(4, np.uint32), seed=0).dtype
    dtype('uint32')
    """
    code = _core.check_out(out, {_core.DTYPE_U32}, "random_raw")
    return _run(out, code, _core.DIST_RAW, {}, seed, offset)
