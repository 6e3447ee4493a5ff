"""The fill API: check the buffer, look the distribution up, call the core.

The distributions and their exact parameter rounding live in
``varinit.distributions``, the dtypes in ``varinit.dtypes``; this module
is the public face over them and the one caller of the Cython layer's fill.
"""
from __future__ import annotations

from typing import Any, TypeVar

import numpy as np

from . import _buffers, _core, _dispatch, _threads, dtypes as _dtypes
from .distributions import Distribution, get as _distribution
from ._validate import integer, u64

__all__ = ["fill_uniform", "fill_normal", "fill_truncated_normal", "random_raw"]

#: An output buffer: a numpy array or a CPU torch tensor; fills return it.
Out = TypeVar("Out")

_FLOAT_CODES = _dtypes.codes(_dtypes.FLOAT_DTYPES)
_RAW_CODES = _dtypes.codes((_dtypes.by_code(_core.DTYPE_U32),))
_MAX_INDEX = 1 << 63
#: Stream elements per block (``docs/stream.md``): fills always start a block at its start.
BLOCK: int = _core.BLOCK


def check_out(out: Any, what: str) -> _dtypes.DType:
    """Check a float ``out=`` buffer (the Cython layer's checker) and return
    its dtype row."""
    return _dtypes.by_code(_core.check_out(out, _FLOAT_CODES, what))


def run(out: np.ndarray, fmt: _dtypes.DType, dist_code: int, params: dict, seed: Any,
        offset: Any) -> np.ndarray:
    """Write stream elements ``[offset, offset + out.size)`` of (seed, dist,
    params) to a checked ``out``, on the current threads and kernel."""
    seed = u64(seed, "seed")
    offset = integer(offset, "offset", low=0)
    if offset + out.size > _MAX_INDEX:
        raise ValueError(f"offset + out.size must not exceed 2**63, got {offset} + {out.size}")
    return _core.fill(out, fmt.code, dist_code, params, seed, offset,
                      _threads.get_num_threads(), _dispatch.active_kernel())


def fill_distribution(dist: Distribution, out: Out, a: Any, b: Any, *, seed: Any,
                      offset: Any = 0, what: str | None = None, **options: Any) -> Out:
    """``fill_<dist.name>(out, a, b, seed=seed, offset=offset)``.

    Parameters
    ----------
    dist : Distribution
        A row of ``varinit.distributions.DISTRIBUTIONS``.
    out : numpy.ndarray
        As for :func:`fill_uniform`.
    a, b : float
        The distribution's two parameters (``dist.arguments``).
    seed, offset : int
        As for :func:`fill_uniform`.
    what : str, optional
        Name of the caller, for messages; default ``fill_<name>``.
    **options
        The distribution's keyword options (``dist.options``).

    Returns
    -------
    numpy.ndarray
        ``out``.
    """
    array = _buffers.as_array(out)
    fmt = check_out(array, what or f"fill_{dist.name}")
    code, params = dist.kernel(a, b, fmt, **options)
    run(array, fmt, code, params, seed, offset)
    return _buffers.written(out)


_UNIFORM = _distribution("uniform")
_NORMAL = _distribution("normal")
_TRUNCATED_NORMAL = _distribution("truncated_normal")


def fill_uniform(out: Out, low: float = 0.0, high: float = 1.0, *,
                 seed: int, offset: int = 0) -> Out:
    """Fill ``out`` in place with uniform values in ``[low, high)``.

    Parameters
    ----------
    out : numpy.ndarray or torch.Tensor
        Writable, aligned, native-endian, C-contiguous array of dtype
        float16, bfloat16 (``ml_dtypes``), float32, float64 or float8
        (``ml_dtypes``), any shape; or a contiguous CPU ``torch.Tensor`` (a
        ``Parameter`` too) of those dtypes, written in place through a
        zero-copy view with the same values.  Element ``j`` (flat C order)
        receives stream element ``offset + j``.
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
    numpy.ndarray or torch.Tensor
        ``out`` itself.

    Raises
    ------
    TypeError
        For an unsupported dtype or a non-integer seed/offset.
    ValueError
        For a read-only, non-contiguous, misaligned or byte-swapped ``out``,
        a tensor on the meta device or not on the CPU, or bad parameters.  ``out`` is untouched when anything is raised
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
    return fill_distribution(_UNIFORM, out, low, high, seed=seed, offset=offset)


def fill_normal(out: Out, mean: float = 0.0, stddev: float = 1.0, *,
                seed: int, offset: int = 0) -> Out:
    """Fill ``out`` in place with normal values ``N(mean, stddev**2)``.

    Parameters
    ----------
    out : numpy.ndarray or torch.Tensor
        As for :func:`fill_uniform`.
    mean : float
        Mean, finite in ``out.dtype``.
    stddev : float
        Standard deviation, positive; ``mean ± 13*stddev`` must be finite in
        ``out.dtype`` (no deviate can exceed that).
    seed, offset : int
        As for :func:`fill_uniform`.

    Returns
    -------
    numpy.ndarray
        ``out``, holding ``N(mean, stddev**2)`` values.

    Raises
    ------
    TypeError, ValueError
        As for :func:`fill_uniform`; ``ValueError`` also when
        ``mean ± 13*stddev`` is not finite in ``out.dtype``.

    Notes
    -----
    A 128-layer ziggurat, computed in float32 for float32 and narrower
    outputs and in float64 for float64, with varinit's own deterministic
    logarithm for its rare slow steps; see ``docs/stream.md``.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> x = varinit.fill_normal(np.empty(100_000), 1.0, 2.0, seed=1)
    >>> round(float(x.mean()), 1), round(float(x.std()), 1)
    (1.0, 2.0)
    """
    return fill_distribution(_NORMAL, out, mean, stddev, seed=seed, offset=offset)


def fill_truncated_normal(out: Out, mean: float = 0.0, stddev: float = 1.0, *,
                          low: float | None = None, high: float | None = None,
                          seed: int, offset: int = 0) -> Out:
    """Fill ``out`` in place with a normal truncated to ``[low, high]``.

    Candidates outside the bounds are discarded and redrawn (rejection, the
    Keras definition), so the distribution is exactly ``N(mean, stddev**2)``
    restricted to the interval, and no value lies outside it (bounds
    rounded inward to ``out.dtype``).  By default the interval is
    ``mean ± 2*stddev`` (Keras's ``TruncatedNormal``; the standard
    deviation of the result is then about ``0.8796 * stddev``).

    Parameters
    ----------
    out : numpy.ndarray or torch.Tensor
        As for :func:`fill_uniform`.
    mean : float
        Mean of the untruncated normal, finite in ``out.dtype``.
    stddev : float
        Standard deviation of the untruncated normal, positive.
    low, high : float, optional
        Absolute bounds (as torch's ``trunc_normal_(a, b)``), default
        ``mean - 2*stddev`` and ``mean + 2*stddev``.  ``low < high``;
        ``low`` may be ``-inf`` or ``high`` ``inf``, not both (that is
        :func:`fill_normal`).  Any interval works, however far from the
        mean or narrow: the rejection method is chosen by region
        (``docs/stream.md``, section 5.5) so that the expected work per
        value stays bounded.
    seed, offset : int
        As for :func:`fill_uniform`.

    Returns
    -------
    numpy.ndarray
        ``out``; every value inside the bounds.

    Raises
    ------
    TypeError, ValueError
        As for :func:`fill_uniform`; ``ValueError`` also for a NaN bound,
        ``low >= high``, both bounds infinite, a finite bound not finite in
        ``out.dtype``, or an interval holding no value of ``out.dtype``.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> x = varinit.fill_truncated_normal(np.empty(10_000, np.float32), 0.0, 0.05, seed=3)
    >>> bool(np.abs(x).max() <= 0.1)
    True
    >>> tail = varinit.fill_truncated_normal(np.empty(1000), low=8.0, high=9.0, seed=3)
    >>> bool(((tail >= 8) & (tail <= 9)).all())
    True
    """
    return fill_distribution(_TRUNCATED_NORMAL, out, mean, stddev, seed=seed, offset=offset,
                             low=low, high=high)


def random_raw(out: Out, *, seed: int, offset: int = 0) -> Out:
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
    array = _buffers.as_array(out)
    fmt = _dtypes.by_code(_core.check_out(array, _RAW_CODES, "random_raw"))
    run(array, fmt, _core.DIST_RAW, {}, seed, offset)
    return _buffers.written(out)
