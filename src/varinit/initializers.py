"""Keras-compatible weight initializers, filled by varinit's kernels.

Every class has Keras 3's name, constructor arguments, defaults, config keys
and errors, and returns numpy arrays.  A random initializer is a thin layer
over the fill API: it works out *which* fill call reproduces it for a given
shape and dtype (a :class:`_StreamPlan`: distribution and parameters) and
*which* fill seed the call uses (``varinit._seeds``); the kernels do the rest.
``docs/initializers.md`` tabulates the mapping.

The value at flat index ``i`` of ``init(shape, dtype)`` is stream element
``i`` of that fill call, so :meth:`Initializer.block` and
:meth:`Initializer.rows` regenerate any part of a tensor on its own, with
``offset=``, bit for bit.
"""
from __future__ import annotations

import copy
import inspect
import math
import numbers
from typing import Any, Literal, overload

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _boxes, _buffers, _fill, dtypes as _dtypes
from ._boxes import BlockIndex, Box, box_runs, box_shape, box_slices, full_box
from .distributions import get as _distribution
from ._fans import (AxesLike, FanLayout, ShapeLike, as_shape, check_axes, check_layout,
                    compute_fans)
from ._fill import Out
from ._seeds import FixedSeed, SeedGenerator, SeedLike, resolve_seed, seed_config
from ._validate import u64
from .dtypes import resolve_dtype

__all__ = [
    "Initializer", "RandomInitializer", "Zeros", "Ones", "Constant", "RandomNormal", "RandomUniform",
    "TruncatedNormal", "VarianceScaling", "GlorotNormal", "GlorotUniform", "HeNormal",
    "HeUniform", "LecunNormal", "LecunUniform", "Orthogonal", "Identity",
    "IdentityInitializer", "OrthogonalInitializer",
    "zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal",
    "variance_scaling", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "orthogonal", "identity",
    "TRUNCATED_STDDEV_FACTOR",
]

#: Standard deviation of N(0, 1) restricted to [-2, 2]; VarianceScaling's
#: truncated normal divides its target std by it (as Keras and JAX do).
TRUNCATED_STDDEV_FACTOR = 0.87962566103423978

# Runs of a block()/rows() request that share stream blocks are generated
# together, within groups of this many stream blocks (1M elements).
_SPAN_BLOCKS = 256


# --------------------------------------------------------------------------
# dtypes, numbers, boxes
# --------------------------------------------------------------------------

def _is_float_dtype(dtype: np.dtype) -> bool:
    row = _dtypes.lookup(dtype)
    return dtype.isnative and row is not None and row.is_float


def _is_numeric_dtype(dtype: np.dtype) -> bool:
    return dtype.isnative and (dtype.kind in "biufc" or _dtypes.lookup(dtype) is not None)


def _real(value: Any, name: str, infinite: bool = False) -> Any:
    """Check ``value`` is a real, finite number (or infinite, with
    ``infinite``); numpy scalars and 0-d arrays become Python ones."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        value = value[()]
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    if isinstance(value, np.generic):
        value = value.item()
    if math.isnan(value) or not (infinite or math.isfinite(value)):
        raise ValueError(f"{name} must be {'a number, not NaN' if infinite else 'finite'}, "
                         f"got {value!r}")
    return value


def _as_row_ids(ids: ArrayLike, n_rows: int) -> np.ndarray:
    """Integer row ids, negative ones wrapped as numpy does, as int64."""
    array = np.asarray(ids)
    if array.dtype.kind not in "iu":
        if array.size == 0 and array.dtype.kind == "f" and not isinstance(ids, np.ndarray):
            array = array.astype(np.int64)     # [] and () arrive as float64
        else:
            raise TypeError(f"row ids must be integers, got an array of dtype {array.dtype}")
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < -n_rows or high >= n_rows:
            bad = low if low < -n_rows else high
            raise IndexError(f"row id {bad} is out of bounds for a table of {n_rows} rows")
    array = array.astype(np.int64, copy=False)
    return np.where(array < 0, array + n_rows, array)


# --------------------------------------------------------------------------
# Plans: how to write any part of one (initializer, shape, dtype) tensor
# --------------------------------------------------------------------------

class _Plan:
    """A validated recipe for one tensor; nothing is written until a fill."""

    def fill_box(self, out: np.ndarray, box: Box, seed: int) -> None:
        raise NotImplementedError

    def fill_rows(self, out: np.ndarray, ids: np.ndarray, seed: int) -> None:
        raise NotImplementedError


class _StreamPlan(_Plan):
    """One fill-API call: ``fill_<distribution>(out, a, b, seed=..., offset=...)``.

    ``distribution`` is ``"uniform"`` (``a, b = low, high``), ``"normal"`` or
    ``"truncated_normal"`` (``a, b = mean, stddev``).  The kernel parameters
    are computed (and checked against the dtype) once, here, so that filling
    many small runs costs one kernel call each.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, distribution: str,
                 a: float, b: float, **options: Any) -> None:
        self.shape, self.dtype = shape, dtype
        fmt = _dtypes.lookup(dtype)
        assert fmt is not None               # Initializer._dtype accepted it
        self.fmt = fmt
        self.distribution = _distribution(distribution)
        self.code, self.params = self.distribution.kernel(a, b, fmt, **options)

    def _fill_run(self, flat_out: np.ndarray, offset: int, seed: int) -> None:
        _fill.run(flat_out, self.fmt, self.code, self.params, seed, offset)

    def _fill_runs(self, flat_out: np.ndarray, starts: np.ndarray, length: int,
                   seed: int) -> None:
        """Write stream elements ``[starts[r], starts[r] + length)`` to
        ``flat_out[r * length:(r + 1) * length]``; ``starts`` increasing,
        runs disjoint.

        A fill always generates a stream block from its start (see
        ``docs/stream.md``), so runs that touch the same block are generated
        by one fill covering them all (into a scratch buffer when they leave
        gaps): every stream block a request touches is generated once.
        """
        if length == 0 or len(starts) == 0:
            return
        if len(starts) == 1:
            self._fill_run(flat_out[:length], int(starts[0]), seed)
            return
        ends = starts + length
        first_block = starts // _fill.BLOCK
        last_block = (ends - 1) // _fill.BLOCK
        joins = (starts[1:] == ends[:-1]) | (first_block[1:] <= last_block[:-1])
        # Scratch buffers stay small: a span never takes in a run that starts
        # in another group of _SPAN_BLOCKS stream blocks.
        joins &= first_block[1:] // _SPAN_BLOCKS == first_block[:-1] // _SPAN_BLOCKS
        bounds = np.concatenate(([0], np.flatnonzero(~joins) + 1, [len(starts)])).tolist()
        start_list, end_list = starts.tolist(), ends.tolist()
        within = np.arange(length)
        for k0, k1 in zip(bounds[:-1], bounds[1:]):
            low, high = start_list[k0], end_list[k1 - 1]
            dest = flat_out[k0 * length:k1 * length]
            if high - low == (k1 - k0) * length:          # no gaps: straight in
                self._fill_run(dest, low, seed)
            else:
                span = np.empty(high - low, self.dtype)
                self._fill_run(span, low, seed)
                dest[...] = span[((starts[k0:k1] - low)[:, None] + within).ravel()]

    def fill_box(self, out: np.ndarray, box: Box, seed: int) -> None:
        run_length, offsets = box_runs(self.shape, box)
        self._fill_runs(out.reshape(-1), offsets, run_length, seed)

    def fill_rows(self, out: np.ndarray, ids: np.ndarray, seed: int) -> None:
        row_size = math.prod(self.shape[1:])
        flat_ids = ids.reshape(-1)
        unique, inverse = np.unique(flat_ids, return_inverse=True)
        # Sorted distinct ids can be written in place; otherwise each distinct
        # row is generated once and gathered.
        in_place = bool(np.all(np.diff(flat_ids) > 0))      # increasing, so distinct
        target = out if in_place else np.empty((len(unique),) + self.shape[1:], self.dtype)
        self._fill_runs(target.reshape(-1), unique * row_size, row_size, seed)
        if not in_place:
            np.take(target, inverse.reshape(-1), axis=0,
                    out=out.reshape((len(flat_ids),) + self.shape[1:]))


class _ProtocolPlan(_Plan):
    """A custom initializer's :meth:`Initializer.fill_block`, as a plan."""

    def __init__(self, init: "Initializer", shape: tuple[int, ...]) -> None:
        self.init, self.shape = init, shape

    def fill_box(self, out: np.ndarray, box: Box, seed: int) -> None:
        self.init.fill_block(out, box, self.shape, seed)

    def fill_rows(self, out: np.ndarray, ids: np.ndarray, seed: int) -> None:
        # Each distinct row once, consecutive rows as one box, then gathered.
        unique, inverse = np.unique(ids.reshape(-1), return_inverse=True)
        if len(unique) == 0:
            return
        rows = np.empty((len(unique),) + self.shape[1:], out.dtype)
        rest = full_box(self.shape[1:])
        starts = np.concatenate(([0], np.flatnonzero(np.diff(unique) != 1) + 1, [len(unique)]))
        for k0, k1 in zip(starts[:-1].tolist(), starts[1:].tolist()):
            first = int(unique[k0])
            self.fill_box(rows[k0:k1], ((first, first + k1 - k0),) + rest, seed)
        out[...] = rows[inverse.reshape(ids.shape)]


class _ConstantPlan(_Plan):
    """Every element is ``np.broadcast_to(value, shape)`` at its index."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, value: Any) -> None:
        cast = _cast_constant(value, dtype)
        try:
            self.values = np.broadcast_to(cast, shape)
        except ValueError:
            raise ValueError(f"Constant value of shape {cast.shape} cannot be broadcast to "
                             f"shape {shape}") from None

    def fill_box(self, out: np.ndarray, box: Box, seed: int) -> None:
        out[...] = self.values[box_slices(box)]

    def fill_rows(self, out: np.ndarray, ids: np.ndarray, seed: int) -> None:
        if self.values.ndim and self.values.strides[0] == 0:
            out[...] = self.values[0]            # rows are all alike
        else:
            out[...] = self.values[ids]


def _cast_constant(value: Any, dtype: np.dtype) -> np.ndarray:
    """``value`` cast to ``dtype`` as numpy casts (a float to an integer
    drops its fraction, bool takes the truth value), refusing what the dtype
    cannot hold: an integer out of range, a NaN or infinity for an integer,
    a finite value that overflows a float dtype."""
    if isinstance(value, int) and not isinstance(value, bool):    # any size, exactly
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            if not info.min <= value <= info.max:
                raise ValueError(f"Constant value {value} does not fit {dtype} "
                                 f"([{info.min}, {info.max}])")
            return np.asarray(value, dtype)
        try:
            value = float(value)
        except OverflowError:
            raise ValueError(f"Constant value {value} does not fit {dtype}") from None
    array = np.asarray(value)
    with np.errstate(all="ignore"):
        cast = array.astype(dtype)
        real = array.real if array.dtype.kind == "c" else array
        if array.dtype.kind == "c" and dtype.kind != "c" and np.any(array.imag != 0):
            raise ValueError(f"Constant value {value!r} has an imaginary part; {dtype} has none")
        if dtype.kind == "b":
            fits = np.ones(real.shape, bool)
        elif dtype.kind in "iu":
            info = np.iinfo(dtype)
            if real.dtype.kind in "biu":
                fits = (real >= info.min) & (real <= info.max)
            else:                                # exact float bounds: -2**k and 2**k
                fits = np.isfinite(real) & (real >= float(info.min)) & (real < float(info.max) + 1)
        else:
            fits = ~np.isfinite(real.astype(np.float64)) | np.isfinite(
                cast.astype(np.complex128 if dtype.kind == "c" else np.float64))
    if not np.all(fits):
        bad = np.asarray(real)[~np.asarray(fits)].flat[0] if np.ndim(fits) else real[()]
        raise ValueError(f"Constant value {bad.item()!r} does not fit {dtype}")
    return cast


class _IdentityPlan(_Plan):
    """``gain`` on the diagonal of a 2-D matrix, zero elsewhere."""

    def __init__(self, dtype: np.dtype, gain: float) -> None:
        self.gain = np.asarray(gain).astype(dtype)

    def fill_box(self, out: np.ndarray, box: Box, seed: int) -> None:
        (r0, r1), (c0, c1) = box
        out[...] = 0
        diagonal = np.arange(max(r0, c0), min(r1, c1))
        out[diagonal - r0, diagonal - c0] = self.gain

    def fill_rows(self, out: np.ndarray, ids: np.ndarray, seed: int) -> None:
        # Written through out's own strides (a reshape of a non-contiguous
        # out would be a copy): row r gets gain in column r if r < n_cols.
        out[...] = 0
        n_cols = out.shape[-1]
        if n_cols == 0:
            return
        on_diagonal = ids < n_cols
        column = np.where(on_diagonal, ids, 0)[..., None]
        value = np.where(on_diagonal, self.gain, np.zeros((), out.dtype))[..., None]
        np.put_along_axis(out, column, value, axis=-1)


def _whole_only() -> NotImplementedError:
    return NotImplementedError(
        "Orthogonal cannot generate part of a tensor: every value of an orthogonal matrix "
        "depends on the whole QR factorization; call the initializer on the full shape")


class _OrthogonalPlan(_Plan):
    """QR of a ``fill_normal`` matrix, Keras's algorithm; whole tensors only."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, gain: float) -> None:
        self.shape, self.dtype, self.gain = shape, dtype, gain
        self.n_rows = math.prod(shape[:-1])
        self.n_cols = shape[-1]
        # QR is not implemented in half precision anywhere; compute in
        # float32 for float32 and narrower outputs, as the fix everyone uses.
        self.work_dtype = np.dtype(np.float64 if dtype == np.float64 else np.float32)
        self.flat_shape = (max(self.n_rows, self.n_cols), min(self.n_rows, self.n_cols))
        self.normal = _StreamPlan(self.flat_shape, self.work_dtype, "normal", 0.0, 1.0)

    def fill_box(self, out: np.ndarray, box: Box, seed: int) -> None:
        if box != full_box(self.shape):
            raise _whole_only()
        if out.size == 0:
            return
        a = np.empty(self.flat_shape, self.work_dtype)
        self.normal.fill_box(a, full_box(self.flat_shape), seed)
        q, r = np.linalg.qr(a)
        # Mezzadri's sign correction makes Q Haar-distributed; a zero on the
        # diagonal (probability 0) keeps its column rather than zeroing it.
        q *= np.where(np.diagonal(r) < 0, -1, 1).astype(self.work_dtype)
        if self.n_rows < self.n_cols:
            q = q.T
        out[...] = (self.gain * q.reshape(self.shape)).astype(self.dtype)

    def fill_rows(self, out: np.ndarray, ids: np.ndarray, seed: int) -> None:
        raise _whole_only()


# --------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------

class Initializer:
    """Base class of all varinit initializers (Keras's ``Initializer``).

    A subclass implements one method of the block protocol,
    :meth:`fill_block` (write any box of the full tensor for a given seed),
    and gets ``__call__``, :meth:`block`, :meth:`rows`, ``out=`` buffers
    (memmaps larger than memory included), :func:`varinit.save`,
    :func:`varinit.dask.from_initializer` and the framework integrations.
    Random ones subclass :class:`RandomInitializer` for Keras's ``seed``
    semantics.  ``docs/architecture.md`` has a worked example.

    Notes
    -----
    ``init(shape)`` validates everything (shape, dtype, ``out``, parameters)
    before it writes anything or advances a :class:`varinit.SeedGenerator`
    (a custom :meth:`fill_block` is called after the seed is taken, so its
    own checks come after that).
    """

    #: Whether the values depend on a seed.
    _random: bool = False
    #: dtype used when neither ``dtype`` nor ``out`` is given.
    _default_dtype: np.dtype | None = None

    # -- subclass hooks -------------------------------------------------

    def fill_block(self, out: np.ndarray, box: Box, shape: tuple[int, ...], seed: int) -> None:
        """Write the elements ``box`` of the full tensor into ``out``: the block protocol.

        The one method a custom initializer implements; everything
        blockwise calls it.  It must write exactly the values
        ``init(shape, out.dtype)[box]`` would hold for fill seed ``seed``,
        whatever the box, so that boxes generated apart, in any order, on
        any machine, assemble into the full tensor bit for bit.

        Parameters
        ----------
        out : numpy.ndarray
            Writable array of the box's shape, in a dtype the initializer
            accepts (for random initializers: C-contiguous, aligned, native
            float16, bfloat16, float32 or float64).
        box : tuple of (int, int)
            ``(start, stop)`` per axis of ``shape``, step 1
            (:mod:`varinit.blocks` has helpers, e.g.
            :func:`~varinit.blocks.box_runs` for its contiguous runs).
        shape : tuple of int
            Shape of the full tensor (fans and parameters come from it).
        seed : int
            The fill seed in ``[0, 2**64)``, already pinned by the caller
            (:meth:`fill_seed`); initializers that take no seed ignore it.

        Raises
        ------
        NotImplementedError
            If the initializer cannot generate part of a tensor alone.
        """
        self._plan(shape, out.dtype).fill_box(out, box, seed)

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        # Built-in initializers override this (their parameters are computed
        # once per call); a custom one reaches its fill_block through it.
        if type(self).fill_block is not Initializer.fill_block:
            return _ProtocolPlan(self, shape)
        if type(self).__call__ is not Initializer.__call__:
            raise NotImplementedError(
                f"{type(self).__name__} defines __call__() but not fill_block(out, box, shape, "
                "seed), which block() and rows() need")
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def _accepts_dtype(self, dtype: np.dtype) -> bool:
        return _is_float_dtype(dtype)

    def _seed_source(self) -> FixedSeed | SeedGenerator | None:
        return None

    # -- shared machinery -----------------------------------------------

    def _dtype(self, dtype: DTypeLike | None, out: np.ndarray | None) -> np.dtype:
        # The kind of out's dtype is checked in native byte order; a byte-swapped
        # out of a good kind is a ValueError below, as in the fill API.
        if dtype is None:
            resolved = (out.dtype.newbyteorder("=") if out is not None
                        else self._default_dtype or resolve_dtype(None))
        else:
            resolved = resolve_dtype(dtype)
            if out is not None and out.dtype.newbyteorder("=") != resolved:
                raise TypeError(f"out has dtype {out.dtype}, but dtype={resolved} was requested")
        if not self._accepts_dtype(resolved):
            kinds = _dtypes.FLOAT_NAMES if self._random else "numeric"
            raise TypeError(f"{type(self).__name__} cannot generate dtype {resolved}: "
                            f"it takes {kinds} dtypes")
        if out is not None:
            if not out.dtype.isnative:
                raise ValueError(f"out has non-native byte order ({out.dtype.str}); "
                                 "varinit writes native-endian values only")
            if self._random:
                _fill.check_out(out, type(self).__name__)
            elif not out.flags.writeable:
                raise ValueError("out is read-only")
            elif not out.flags.c_contiguous:
                # one rule for every initializer, as the fill API: flat C order, never a copy
                raise ValueError("out must be C-contiguous (varinit fills flat C order, "
                                 "it never copies)")
        return resolved

    @staticmethod
    def _check_out_shape(out: np.ndarray | None, expected: tuple[int, ...]) -> None:
        if out is not None and out.shape != expected:
            raise ValueError(f"out has shape {out.shape}, expected {expected}")

    def _set_default_dtype(self, dtype: DTypeLike) -> None:
        """Make ``dtype`` (checked now) the dtype of calls given neither
        ``dtype`` nor ``out``, as TF1's constructor ``dtype`` argument.  Kept
        by :meth:`clone`; not part of :meth:`get_config`, which has no dtype
        key (as Keras)."""
        self._default_dtype = self._dtype(dtype, None)

    def fill_seed(self) -> int:
        """The fill seed the next call will use, without advancing anything.

        Returns
        -------
        int
            In ``[0, 2**64)``; 0 for initializers that take no seed.
            :meth:`block` and :meth:`rows` use it.
        """
        source = self._seed_source()
        return 0 if source is None else source.peek()

    def _next_seed(self) -> int:
        source = self._seed_source()
        return 0 if source is None else source.next()

    def pinned(self, seed: int | None = None) -> "Initializer":
        """This initializer with its seed pinned to the fill seed ``seed``.

        Parameters
        ----------
        seed : int, optional
            Fill seed; default :meth:`fill_seed` (read once, without
            advancing a :class:`varinit.SeedGenerator`).

        Returns
        -------
        Initializer
            A copy whose every call, :meth:`block` and :meth:`rows` use
            ``seed`` and whose :meth:`get_config` records that integer
            seed; ``self`` for initializers whose values do not depend on a
            seed.  Code that builds one result from several ``block`` calls
            (files, dask arrays, shards) pins first, so all of them see the
            same seed even if a shared generator advances meanwhile.
        """
        if self._seed_source() is None:
            return self
        raise NotImplementedError(f"{type(self).__name__} has a seed source but cannot "
                                  "pin its seed")

    # -- public API -----------------------------------------------------

    @overload
    def __call__(self, shape: ShapeLike, dtype: DTypeLike | None = None, *,
                 out: None = None) -> np.ndarray: ...
    @overload
    def __call__(self, shape: ShapeLike | None = None, dtype: DTypeLike | None = None, *,
                 out: Out) -> Out: ...

    def __call__(self, shape: ShapeLike | None = None, dtype: DTypeLike | None = None, *,
                 out: Any = None) -> Any:
        """Generate a tensor, or fill ``out`` in place.

        Parameters
        ----------
        shape : int or sequence of int, optional
            Shape of the tensor; defaults to ``out.shape``.  Required when
            ``out`` is not given.
        dtype : dtype, optional
            float16, bfloat16 (``ml_dtypes``, or the string ``"bfloat16"``),
            float32, float64 or float8 (constant initializers: any numeric
            dtype); a torch dtype names the same dtype (the result is still
            a numpy array unless ``out`` is a tensor).
            Defaults to ``out.dtype``, else float32.
        out : numpy.ndarray or torch.Tensor, optional
            Preallocated buffer to fill; gets exactly the values a new array
            would.  Random initializers need it C-contiguous, aligned,
            native-endian and writable, as the fill API does; a CPU
            ``torch.Tensor`` (or ``Parameter``) is written in place through
            a zero-copy view.

        Returns
        -------
        numpy.ndarray or torch.Tensor
            The new array, or ``out``.

        Raises
        ------
        TypeError
            For an unsupported dtype, an ``out`` of another dtype, or a
            non-integer shape.
        ValueError
            For a negative dimension, an ``out`` of another shape, or
            parameters that do not fit the dtype.  ``out`` is then untouched.
        """
        target, out = out, _buffers.as_array(out) if out is not None else None
        resolved = self._dtype(dtype, out)
        if shape is None:
            if out is None:
                raise TypeError(f"{type(self).__name__}() needs a shape (or out=)")
            full = out.shape
        else:
            full = as_shape(shape)
        self._check_out_shape(out, full)
        plan = self._plan(full, resolved)
        if out is None:
            out = np.empty(full, resolved)
        seed = self._next_seed()
        # A big file-backed buffer is filled and flushed window by window (via
        # block() of a copy pinned to this call's seed), so its dirty pages
        # never have to fit in memory.
        if isinstance(out, np.memmap) and _boxes.fill_windowed(
                self.pinned(seed), out, threshold=_boxes.MAPPED_THRESHOLD):
            return out
        plan.fill_box(out, full_box(full), seed)
        return out if target is None else _buffers.written(target)

    @overload
    def block(self, shape: ShapeLike, index: BlockIndex, dtype: DTypeLike | None = None,
              out: None = None) -> np.ndarray: ...
    @overload
    def block(self, shape: ShapeLike, index: BlockIndex, dtype: DTypeLike | None = None, *,
              out: Out) -> Out: ...

    def block(self, shape: ShapeLike, index: BlockIndex, dtype: DTypeLike | None = None,
              out: Any = None) -> Any:
        """Generate ``init(shape, dtype)[index]`` without the rest of the tensor.

        Only the elements of the block are generated (one fill per
        contiguous run of the full tensor, with ``offset=``), so blocks of a
        table far larger than memory can be produced independently, in any
        order, on any machine, with the same bits.

        Parameters
        ----------
        shape : int or sequence of int
            Shape of the *full* tensor (fans and parameters come from it).
        index : slice or tuple of slice
            Step-1 slices, as in numpy; missing trailing axes are whole.
        dtype : dtype, optional
            As for ``__call__``.
        out : numpy.ndarray or torch.Tensor, optional
            Buffer of the block's shape to fill.

        Returns
        -------
        numpy.ndarray

        Raises
        ------
        TypeError
            For an index that is not slices.
        ValueError
            For a slice step other than 1; as ``__call__`` otherwise.
        IndexError
            For more slices than dimensions.
        NotImplementedError
            For :class:`Orthogonal`, whose values depend on the whole matrix.

        Notes
        -----
        Uses the fill seed the next call would use, without advancing a
        :class:`varinit.SeedGenerator`.

        Examples
        --------
        >>> import numpy as np, varinit
        >>> init = varinit.GlorotUniform(seed=1)
        >>> part = init.block((1000, 64), (slice(10, 20), slice(0, 8)))
        >>> bool(np.array_equal(part, init((1000, 64))[10:20, 0:8]))
        True
        """
        target, out = out, _buffers.as_array(out) if out is not None else None
        resolved = self._dtype(dtype, out)
        full = as_shape(shape)
        box = _boxes.as_box(full, index)
        self._check_out_shape(out, box_shape(box))
        plan = self._plan(full, resolved)
        if out is None:
            out = np.empty(box_shape(box), resolved)
        plan.fill_box(out, box, self.fill_seed())
        return out if target is None else _buffers.written(target)

    @overload
    def rows(self, shape: ShapeLike, ids: ArrayLike, dtype: DTypeLike | None = None, *,
             out: None = None) -> np.ndarray: ...
    @overload
    def rows(self, shape: ShapeLike, ids: ArrayLike, dtype: DTypeLike | None = None, *,
             out: Out) -> Out: ...

    def rows(self, shape: ShapeLike, ids: ArrayLike, dtype: DTypeLike | None = None, *,
             out: Any = None) -> Any:
        """Generate ``init(shape, dtype)[ids]``: rows of a table, by id.

        The time is proportional to the number of distinct rows asked for,
        not to the table: each row is one contiguous run of the table's
        stream, generated with ``offset=row * row_size``.

        Parameters
        ----------
        shape : int or sequence of int
            Shape of the *full* table, at least 1-D.
        ids : array_like of int
            Row ids of any shape, order and multiplicity; negative ids count
            from the end, as in numpy.
        dtype : dtype, optional
            As for ``__call__``.
        out : numpy.ndarray or torch.Tensor, optional
            Buffer of shape ``ids.shape + shape[1:]`` to fill.

        Returns
        -------
        numpy.ndarray
            Shape ``ids.shape + shape[1:]``.

        Raises
        ------
        IndexError
            For an id outside ``[-shape[0], shape[0])``.
        TypeError
            For non-integer ids; as ``__call__`` otherwise.
        ValueError
            For a 0-D ``shape``; as ``__call__`` otherwise.
        NotImplementedError
            For :class:`Orthogonal`.

        Notes
        -----
        Uses the fill seed the next call would use, without advancing a
        :class:`varinit.SeedGenerator`.

        Examples
        --------
        >>> import numpy as np, varinit
        >>> init = varinit.RandomUniform(seed=3)
        >>> ids = np.array([7, 2, 7, -1])
        >>> bool(np.array_equal(init.rows((100, 16), ids), init((100, 16))[ids]))
        True
        """
        target, out = out, _buffers.as_array(out) if out is not None else None
        resolved = self._dtype(dtype, out)
        full = as_shape(shape)
        if not full:
            raise ValueError("rows() needs a table of at least one dimension, got shape=()")
        row_ids = _as_row_ids(ids, full[0])
        self._check_out_shape(out, row_ids.shape + full[1:])
        plan = self._plan(full, resolved)
        if out is None:
            out = np.empty(row_ids.shape + full[1:], resolved)
        plan.fill_rows(out, row_ids, self.fill_seed())
        return out if target is None else _buffers.written(target)

    def get_config(self) -> dict:
        """The constructor arguments, with Keras's keys.

        Returns
        -------
        dict
            JSON-serializable (seeds as in ``docs/initializers.md``).
        """
        return {}

    @classmethod
    def from_config(cls, config: dict) -> "Initializer":
        """Build an initializer from :meth:`get_config` output (or Keras's).

        Parameters
        ----------
        config : dict

        Returns
        -------
        Initializer

        Raises
        ------
        TypeError
            For a key the constructor does not take (Keras's message).
        """
        accepted = inspect.signature(cls).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            for key in config:
                if key not in accepted:
                    raise TypeError(f"{cls.__name__}.__init__() got an unexpected keyword "
                                    f"argument {key!r}")
        return cls(**config)

    def clone(self) -> "Initializer":
        """``type(self).from_config(self.get_config())``.

        Returns
        -------
        Initializer
            With an int seed, the clone gives the same values; with ``None``
            it draws a new seed; with a :class:`varinit.SeedGenerator` it gets
            a fresh generator with the same root seed (as Keras).  A default
            dtype set at construction (:mod:`varinit.contrib`'s ``dtype``),
            which the config does not carry, is copied too.
        """
        clone = type(self).from_config(self.get_config())
        if self._default_dtype is not None:
            clone._set_default_dtype(self._default_dtype)
        return clone

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


# --------------------------------------------------------------------------
# Constant initializers
# --------------------------------------------------------------------------

class _ConstantInitializer(Initializer):
    def _accepts_dtype(self, dtype: np.dtype) -> bool:
        return _is_numeric_dtype(dtype)


class Zeros(_ConstantInitializer):
    """Initializer of all-zero tensors (any numeric dtype, as Keras).

    Examples
    --------
    >>> import varinit
    >>> varinit.Zeros()((2, 2)).tolist()
    [[0.0, 0.0], [0.0, 0.0]]
    """

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        return _ConstantPlan(shape, dtype, np.zeros((), dtype))


class Ones(_ConstantInitializer):
    """Initializer of all-one tensors (any numeric dtype, as Keras).

    Examples
    --------
    >>> import varinit
    >>> varinit.Ones()((2,), "int32").tolist()
    [1, 1]
    """

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        return _ConstantPlan(shape, dtype, np.ones((), dtype))


def _constant_value(value: Any) -> Any:
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"Constant value must be a number or a numeric array, got {value!r}")
    if isinstance(value, int):               # any size: checked against the dtype when used
        return value
    array = np.asarray(value)
    if not _is_numeric_dtype(array.dtype):
        raise TypeError(f"Constant value must be a number or a numeric array, "
                        f"got dtype {array.dtype}")
    return value


class Constant(_ConstantInitializer):
    """Initializer of tensors filled with ``value`` (cast to the dtype).

    Parameters
    ----------
    value : number or array_like, optional
        A scalar, or (as Keras accepts) an array broadcast to the shape.
        Defaults to 0.0.

    Raises
    ------
    TypeError
        For a non-numeric value.

    Examples
    --------
    >>> import varinit
    >>> varinit.Constant(0.5)((3,)).tolist()
    [0.5, 0.5, 0.5]
    """

    def __init__(self, value: Any = 0.0) -> None:
        self.value = _constant_value(value)

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        return _ConstantPlan(shape, dtype, self.value)

    def get_config(self) -> dict:
        """``{"value": v}``: Python scalars as is, arrays in Keras's ``__tensor__`` form.

        Returns
        -------
        dict
        """
        value = self.value
        if isinstance(value, (np.ndarray, np.generic)) or not np.isscalar(value):
            array = np.asarray(value)
            value = {"class_name": "__tensor__",
                     "config": {"value": array.tolist(), "dtype": str(array.dtype)}}
        return {"value": value}

    @classmethod
    def from_config(cls, config: dict) -> "Constant":
        """Build from ``{"value": ...}`` (a scalar, or Keras's ``__tensor__``/``__numpy__`` dict).

        Parameters
        ----------
        config : dict

        Returns
        -------
        Constant
        """
        config = dict(config)
        value = config.pop("value", 0.0)
        if config:
            raise TypeError(f"Constant.__init__() got an unexpected keyword argument "
                            f"{next(iter(config))!r}")
        if isinstance(value, dict):
            if value.get("class_name") not in ("__tensor__", "__numpy__"):
                raise TypeError(f"Constant value config must be a number or a serialized "
                                f"array, got {value!r}")
            inner = value.get("config", {})
            dtype = inner.get("dtype")
            value = np.asarray(inner.get("value"),
                               dtype=resolve_dtype(dtype) if dtype is not None else None)
        return cls(value)


class Identity(_ConstantInitializer):
    """Initializer of ``gain`` times the (rectangular) identity matrix, 2-D only.

    Parameters
    ----------
    gain : float, optional
        Multiplicative factor, default 1.0.

    Raises
    ------
    TypeError
        For a non-real gain.

    Notes
    -----
    Unlike Keras 3.15, whose ``get_config()`` drops ``gain``, the config is
    ``{"gain": g}``; Keras's ``{}`` reads as gain 1.0.  The result has the
    requested dtype even for integer dtypes (Keras's numpy backend returns
    float64 there).

    Examples
    --------
    >>> import varinit
    >>> varinit.Identity(2.0)((2, 3)).tolist()
    [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    """

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = _real(gain, "gain")

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        if len(shape) != 2:
            raise ValueError("Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return _IdentityPlan(dtype, self.gain)

    def get_config(self) -> dict:
        """``{"gain": g}`` (Keras 3.15 emits ``{}``; see the class notes).

        Returns
        -------
        dict
        """
        return {"gain": self.gain}


# --------------------------------------------------------------------------
# Random initializers
# --------------------------------------------------------------------------

class RandomInitializer(Initializer):
    """Base class of the random initializers: Keras's ``seed`` semantics.

    Parameters
    ----------
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        An int or None gives the same values on every call; a
        :class:`varinit.SeedGenerator` new ones on each call
        (``docs/initializers.md``).  The fill seed of a call reaches
        :meth:`Initializer.fill_block` as its ``seed`` argument.
    """

    _random = True

    def __init__(self, seed: SeedLike = None) -> None:
        source, config_seed = resolve_seed(seed)
        self._source = source
        self._init_seed = config_seed
        self.seed: int | SeedGenerator = source if isinstance(source, SeedGenerator) else source.seed

    def _seed_source(self) -> FixedSeed | SeedGenerator:
        return self._source

    def pinned(self, seed: int | None = None) -> "RandomInitializer":
        pinned = copy.copy(self)
        pinned._source = FixedSeed(self.fill_seed() if seed is None else u64(seed, "seed"))
        pinned._init_seed = pinned.seed = pinned._source.seed
        return pinned

    def get_config(self) -> dict:
        return {"seed": seed_config(self._init_seed)}


class RandomNormal(RandomInitializer):
    """Normal ``N(mean, stddev**2)``: ``fill_normal(out, mean, stddev)``.

    Parameters
    ----------
    mean : float, optional
        Default 0.0.
    stddev : float, optional
        Positive, default 0.05.
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        See ``docs/initializers.md``: an int or None gives the same values
        on every call; a :class:`varinit.SeedGenerator` new ones each call.

    Raises
    ------
    TypeError
        For non-real parameters.
    ValueError
        For a non-positive or non-finite stddev, or a bad seed.

    Examples
    --------
    >>> import varinit
    >>> varinit.RandomNormal(stddev=0.02, seed=0)((4, 4)).shape
    (4, 4)
    """

    _distribution = "normal"

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: SeedLike = None) -> None:
        self.mean = _real(mean, "mean")
        self.stddev = _real(stddev, "stddev")
        if self.stddev <= 0:
            raise ValueError(f"stddev must be positive, got {self.stddev!r}")
        super().__init__(seed=seed)

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        return _StreamPlan(shape, dtype, self._distribution, self.mean, self.stddev)

    def get_config(self) -> dict:
        """``{"seed", "mean", "stddev"}``, as Keras.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "mean": self.mean, "stddev": self.stddev}


class TruncatedNormal(RandomNormal):
    """Normal restricted to ``[low, high]`` (default ``mean ± 2*stddev``):
    ``fill_truncated_normal(out, mean, stddev, low=low, high=high)``.

    As in Keras, ``stddev`` is the parameter *before* truncation: with the
    default bounds the sample standard deviation is ``0.8796 * stddev``.
    Values outside the bounds are redrawn (rejection), so none lies outside
    them, in any dtype.

    Parameters
    ----------
    mean : float, optional
        Default 0.0.
    stddev : float, optional
        Positive, default 0.05.
    low, high : float, optional
        Absolute bounds (torch's ``trunc_normal_(a, b)``), default
        ``mean ∓ 2*stddev``; ``low`` may be ``-inf`` or ``high`` ``inf``,
        not both.  In :meth:`get_config` only when set, so a default
        ``TruncatedNormal`` has Keras's config.
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        As for :class:`RandomNormal`.

    Raises
    ------
    TypeError, ValueError
        As for :class:`RandomNormal`; ``ValueError`` also for a NaN bound,
        ``low >= high`` or both bounds infinite.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> x = varinit.TruncatedNormal(stddev=0.1, seed=0)((1000,))
    >>> bool(np.abs(x).max() <= 0.2)
    True
    >>> y = varinit.TruncatedNormal(stddev=1.0, low=0.0, seed=0)((1000,))
    >>> bool(y.min() >= 0)
    True
    """

    _distribution = "truncated_normal"

    # Its own signature, so a wrong keyword names this class, not RandomNormal.
    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: SeedLike = None,
                 low: float | None = None, high: float | None = None) -> None:
        super().__init__(mean=mean, stddev=stddev, seed=seed)
        self.low = None if low is None else _real(low, "low", infinite=True)
        self.high = None if high is None else _real(high, "high", infinite=True)
        lo = self.mean - 2 * self.stddev if self.low is None else self.low
        hi = self.mean + 2 * self.stddev if self.high is None else self.high
        if math.isinf(lo) and math.isinf(hi):
            raise ValueError("low=-inf and high=inf is the untruncated normal: use RandomNormal")
        if not lo < hi:
            raise ValueError(f"low must be less than high, got low={lo!r}, high={hi!r}")

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        return _StreamPlan(shape, dtype, self._distribution, self.mean, self.stddev,
                           low=self.low, high=self.high)

    def get_config(self) -> dict:
        """``{"seed", "mean", "stddev"}`` as Keras, plus ``low`` and
        ``high`` when set.

        Returns
        -------
        dict
        """
        bounds = {k: v for k, v in (("low", self.low), ("high", self.high)) if v is not None}
        return {**super().get_config(), **bounds}


class RandomUniform(RandomInitializer):
    """Uniform on ``[minval, maxval)``: ``fill_uniform(out, minval, maxval)``.

    Parameters
    ----------
    minval, maxval : float, optional
        Bounds, ``minval < maxval``; default -0.05 and 0.05 (Keras's
        ``"uniform"``, the default of its ``Embedding``).
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        As for :class:`RandomNormal`.

    Raises
    ------
    TypeError
        For non-real bounds.
    ValueError
        For ``minval >= maxval``, non-finite bounds or a bad seed.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> x = varinit.RandomUniform(-1, 1, seed=0)((1000,))
    >>> bool(((x >= -1) & (x < 1)).all())
    True
    """

    def __init__(self, minval: float = -0.05, maxval: float = 0.05,
                 seed: SeedLike = None) -> None:
        self.minval = _real(minval, "minval")
        self.maxval = _real(maxval, "maxval")
        if not self.minval < self.maxval:
            raise ValueError(f"minval must be less than maxval, got minval={self.minval!r}, "
                             f"maxval={self.maxval!r}")
        super().__init__(seed=seed)

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        return _StreamPlan(shape, dtype, "uniform", self.minval, self.maxval)

    def get_config(self) -> dict:
        """``{"seed", "minval", "maxval"}``, as Keras.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "minval": self.minval, "maxval": self.maxval}


#: The ``mode`` values :class:`VarianceScaling` accepts (checked at run time too).
FanMode = Literal["fan_in", "fan_out", "fan_avg"]
#: The ``distribution`` values :class:`VarianceScaling` accepts; ``"normal"`` means
#: ``"truncated_normal"`` (Keras); the run-time check is case-insensitive.
ScalingDistribution = Literal["truncated_normal", "untruncated_normal", "uniform", "normal"]

# In Keras's order, for its error messages.
_MODES: tuple[FanMode, ...] = ("fan_avg", "fan_in", "fan_out")
_DISTRIBUTIONS: tuple[ScalingDistribution, ...] = ("truncated_normal", "uniform", "untruncated_normal")


def _set_repr(names: tuple[str, ...]) -> str:
    return "{" + ", ".join(repr(n) for n in names) + "}"


class VarianceScaling(RandomInitializer):
    """Scale-aware initializer: std ``sqrt(scale / n)`` for the shape's fan ``n``.

    For a call with ``shape``, ``(fan_in, fan_out) = compute_fans(shape, ...)``,
    ``n = max(1, fan_in)``, ``max(1, fan_out)`` or ``max(1, (fan_in + fan_out) / 2)``
    for ``mode`` ``"fan_in"``, ``"fan_out"``, ``"fan_avg"``, ``s = scale / n``, and

    * ``"truncated_normal"``: ``fill_truncated_normal(out, 0, sqrt(s) / 0.87962566103423978)``
      (bounds ±2σ; the sample std is ``sqrt(s)``);
    * ``"untruncated_normal"``: ``fill_normal(out, 0, sqrt(s))``;
    * ``"uniform"``: ``fill_uniform(out, -L, L)``, ``L = sqrt(3 * s)``.

    Parameters
    ----------
    scale : float, optional
        Positive scaling factor, default 1.0.
    mode : {"fan_in", "fan_out", "fan_avg"}, optional
        Default ``"fan_in"``; case-sensitive, as Keras.
    distribution : {"truncated_normal", "untruncated_normal", "uniform"}, optional
        Default ``"truncated_normal"``; lower-cased first, and ``"normal"``
        means ``"truncated_normal"``, as Keras.
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        As for :class:`RandomNormal`.
    input_axes, output_axes : sequence of int, optional
        Keras 3.15's explicit fan axes (both, or neither, take effect).
    layout : {"keras", "torch"}, optional
        ``"torch"`` computes the fans of ``(out, in, *kernel)`` weights as
        ``torch.nn.init`` does (any rank >= 2); it cannot be combined with
        the axes.

    Raises
    ------
    ValueError
        ``scale <= 0`` (or not finite), an unknown ``mode`` or
        ``distribution``, a bad seed or layout: Keras's messages.
    TypeError
        A non-real ``scale``, a non-string ``distribution``, non-integer axes.

    Examples
    --------
    >>> import varinit
    >>> init = varinit.VarianceScaling(2.0, "fan_in", "uniform", seed=0)
    >>> init((3, 3, 16, 32)).shape
    (3, 3, 16, 32)
    """

    def __init__(self, scale: float = 1.0, mode: FanMode = "fan_in",
                 distribution: ScalingDistribution = "truncated_normal", seed: SeedLike = None,
                 input_axes: AxesLike = None, output_axes: AxesLike = None,
                 layout: FanLayout = "keras") -> None:
        if isinstance(scale, bool) or not isinstance(scale, (numbers.Real, np.integer, np.floating)):
            raise TypeError(f"Argument `scale` must be a positive float. Received: scale={scale!r}")
        if not scale > 0.0 or not math.isfinite(scale):
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if not isinstance(mode, str) or mode not in _MODES:
            raise ValueError(f"Invalid `mode` argument: {mode}. "
                             f"Please use one of {_set_repr(_MODES)}")
        if not isinstance(distribution, str):
            raise TypeError(f"`distribution` must be a string, got {distribution!r}")
        distribution = distribution.lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` argument: {distribution}."
                             f"Please use one of {_set_repr(_DISTRIBUTIONS)}")
        check_axes(input_axes, output_axes)
        layout = check_layout(layout)
        if layout == "torch" and (input_axes is not None or output_axes is not None):
            raise ValueError("input_axes/output_axes cannot be combined with layout='torch'")
        self.scale = scale.item() if isinstance(scale, np.generic) else scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        self.layout = layout
        super().__init__(seed=seed)

    def fans(self, shape: ShapeLike) -> tuple[int, int]:
        """``(fan_in, fan_out)`` this initializer uses for ``shape``.

        Parameters
        ----------
        shape : int or sequence of int

        Returns
        -------
        (int, int)
        """
        if self.layout == "torch":
            return compute_fans(shape, layout="torch")
        return compute_fans(shape, input_axes=self.input_axes, output_axes=self.output_axes)

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        fan_in, fan_out = self.fans(shape)
        # Same float operations as Keras, so the parameters are its bits.
        scale = self.scale
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            stddev = math.sqrt(scale) / TRUNCATED_STDDEV_FACTOR
            return _StreamPlan(shape, dtype, "truncated_normal", 0.0, stddev)
        if self.distribution == "untruncated_normal":
            return _StreamPlan(shape, dtype, "normal", 0.0, math.sqrt(scale))
        limit = math.sqrt(3.0 * scale)
        return _StreamPlan(shape, dtype, "uniform", -limit, limit)

    def _axes_config(self) -> dict:
        config = {"input_axes": self.input_axes, "output_axes": self.output_axes}
        if self.layout != "keras":
            config["layout"] = self.layout
        return config

    def get_config(self) -> dict:
        """``{"seed", "scale", "mode", "distribution", "input_axes", "output_axes"}``, as Keras.

        Returns
        -------
        dict
            Plus ``"layout": "torch"`` for torch-layout initializers, which
            Keras cannot express (its axes lists are rank-specific).
        """
        return {**super().get_config(), "scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, **self._axes_config()}


class _Preset(VarianceScaling):
    """A fixed (scale, mode, distribution); its config has only seed and axes."""

    _preset: tuple[float, str, str]

    def __init__(self, seed: SeedLike = None, input_axes: AxesLike = None,
                 output_axes: AxesLike = None, layout: str = "keras") -> None:
        scale, mode, distribution = self._preset
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed,
                         input_axes=input_axes, output_axes=output_axes, layout=layout)

    def get_config(self) -> dict:
        """``{"seed", "input_axes", "output_axes"}``, as Keras.

        Returns
        -------
        dict
        """
        return {"seed": seed_config(self._init_seed), **self._axes_config()}


_PRESET_PARAMETERS = """
    Parameters
    ----------
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        As for :class:`RandomNormal`.
    input_axes, output_axes : sequence of int, optional
        Keras 3.15's explicit fan axes.
    layout : {"keras", "torch"}, optional
        ``"torch"`` for ``(out, in, *kernel)`` weights.
"""


class GlorotUniform(_Preset):
    __doc__ = f"""Glorot (Xavier) uniform: ``U[-L, L)``, ``L = sqrt(6 / (fan_in + fan_out))``.

    ``VarianceScaling(1.0, "fan_avg", "uniform")``; torch ``xavier_uniform_``.
    {_PRESET_PARAMETERS}
    Examples
    --------
    >>> import varinit
    >>> varinit.GlorotUniform(seed=0)((64, 32)).dtype
    dtype('float32')
    """
    _preset = (1.0, "fan_avg", "uniform")


class GlorotNormal(_Preset):
    __doc__ = f"""Glorot (Xavier) normal: truncated normal, std ``sqrt(2 / (fan_in + fan_out))``.

    ``VarianceScaling(1.0, "fan_avg", "truncated_normal")``.  Unlike torch's
    ``xavier_normal_`` (untruncated), values beyond ±2σ are redrawn.
    {_PRESET_PARAMETERS}
    Examples
    --------
    >>> import varinit
    >>> varinit.GlorotNormal(seed=0)((64, 32)).shape
    (64, 32)
    """
    _preset = (1.0, "fan_avg", "truncated_normal")


class HeUniform(_Preset):
    __doc__ = f"""He (Kaiming) uniform: ``U[-L, L)``, ``L = sqrt(6 / fan_in)``.

    ``VarianceScaling(2.0, "fan_in", "uniform")``; torch
    ``kaiming_uniform_(w, nonlinearity="relu")``.
    {_PRESET_PARAMETERS}
    Examples
    --------
    >>> import varinit
    >>> varinit.HeUniform(seed=0)((3, 3, 16, 32)).shape
    (3, 3, 16, 32)
    """
    _preset = (2.0, "fan_in", "uniform")


class HeNormal(_Preset):
    __doc__ = f"""He (Kaiming) normal: truncated normal, std ``sqrt(2 / fan_in)``.

    ``VarianceScaling(2.0, "fan_in", "truncated_normal")``.  torch's
    ``kaiming_normal_`` is untruncated (``VarianceScaling(2.0, "fan_in",
    "untruncated_normal")``).
    {_PRESET_PARAMETERS}
    Examples
    --------
    >>> import varinit
    >>> varinit.HeNormal(seed=0)((128, 64)).shape
    (128, 64)
    """
    _preset = (2.0, "fan_in", "truncated_normal")


class LecunUniform(_Preset):
    __doc__ = f"""LeCun uniform: ``U[-L, L)``, ``L = sqrt(3 / fan_in)``.

    ``VarianceScaling(1.0, "fan_in", "uniform")``; Caffe's "xavier" filler.
    {_PRESET_PARAMETERS}
    Examples
    --------
    >>> import varinit
    >>> varinit.LecunUniform(seed=0)((16, 8)).shape
    (16, 8)
    """
    _preset = (1.0, "fan_in", "uniform")


class LecunNormal(_Preset):
    __doc__ = f"""LeCun normal: truncated normal, std ``sqrt(1 / fan_in)`` (flax's default).

    ``VarianceScaling(1.0, "fan_in", "truncated_normal")``.
    {_PRESET_PARAMETERS}
    Examples
    --------
    >>> import varinit
    >>> varinit.LecunNormal(seed=0)((16, 8)).shape
    (16, 8)
    """
    _preset = (1.0, "fan_in", "truncated_normal")


class Orthogonal(RandomInitializer):
    """Random orthogonal matrix (Saxe et al.), Keras's algorithm.

    ``rows = prod(shape[:-1])``, ``cols = shape[-1]``; a
    ``(max(rows, cols), min(rows, cols))`` matrix is filled with
    ``fill_normal(a, 0.0, 1.0, seed=fill_seed)`` in float64 (float64
    output) or float32 (float32 and narrower), factored ``a = QR``; the
    columns of ``Q`` are multiplied by the signs of ``diag(R)``, ``Q`` is
    transposed if ``rows < cols``, reshaped to ``shape`` and multiplied by
    ``gain``, then rounded to the dtype.

    Parameters
    ----------
    gain : float, optional
        Multiplicative factor, default 1.0.
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        As for :class:`RandomNormal`.

    Raises
    ------
    TypeError
        For a non-real gain.
    ValueError
        At call time, for a shape of rank < 2.

    Notes
    -----
    The normal matrix is reproducible bit for bit, but the QR factorization
    comes from the LAPACK that numpy links, so the bits of the result may
    differ between builds (orthonormality does not).  :meth:`block` of
    anything but the whole tensor, and :meth:`rows`, raise
    ``NotImplementedError``: every value depends on the whole matrix.
    Cost is O(max·min²).

    Examples
    --------
    >>> import numpy as np, varinit
    >>> q = varinit.Orthogonal(seed=0)((6, 4), "float64")
    >>> bool(np.allclose(q.T @ q, np.eye(4)))
    True
    """

    def __init__(self, gain: float = 1.0, seed: SeedLike = None) -> None:
        self.gain = _real(gain, "gain")
        super().__init__(seed=seed)

    def _plan(self, shape: tuple[int, ...], dtype: np.dtype) -> _Plan:
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return _OrthogonalPlan(shape, dtype, self.gain)

    def get_config(self) -> dict:
        """``{"seed", "gain"}``, as Keras.

        Returns
        -------
        dict
        """
        return {**super().get_config(), "gain": self.gain}


# Keras's module attributes: the snake_case names and the compatibility
# aliases are the same class objects.
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
zeros = Zeros
ones = Ones
constant = Constant
identity = Identity
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = Orthogonal
