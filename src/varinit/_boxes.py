"""Boxes and windows of a C-order tensor, and the window-by-window fill.

The helpers below the initializers: boxes (``(start, stop)`` per axis) and
their contiguous runs in the full tensor, windows (contiguous pieces that
are also boxes), and the fill of a buffer larger than memory window by
window.  :mod:`varinit.blocks` is their public face, with the consumer
side of the block protocol.  numpy, the standard library and
:mod:`varinit._threads` only.
"""
from __future__ import annotations

import math
import mmap
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, Union

import numpy as np

from . import _threads

__all__ = ["Box", "BlockIndex", "as_box", "full_box", "box_shape", "box_slices", "box_runs",
           "Window", "windows", "Blockwise", "probe", "fill_windowed", "MAPPED_THRESHOLD", "MAPPED_WINDOW"]

#: A box of a tensor: ``(start, stop)`` per axis, step 1.
Box = tuple[tuple[int, int], ...]
#: What :meth:`Initializer.block` takes: a step-1 slice or a tuple of them.
BlockIndex = Union[slice, Sequence[slice]]

#: memmaps larger than this are filled window by window with flush + release.
MAPPED_THRESHOLD = 256 << 20
#: Window of a mapped fill.
MAPPED_WINDOW = 64 << 20


# ---------------------------------------------------------------------------
# Boxes
# ---------------------------------------------------------------------------

def full_box(shape: tuple[int, ...]) -> Box:
    """The box of the whole tensor."""
    return tuple((0, n) for n in shape)


def box_shape(box: Box) -> tuple[int, ...]:
    """The shape of the elements of ``box``."""
    return tuple(stop - start for start, stop in box)


def box_slices(box: Box) -> tuple[slice, ...]:
    """``box`` as a numpy index."""
    return tuple(slice(start, stop) for start, stop in box)


def as_box(shape: tuple[int, ...], index: BlockIndex) -> Box:
    """Normalize a block index (tuple of step-1 slices) like numpy would.

    Parameters
    ----------
    shape : tuple of int
        Shape of the full tensor.
    index : slice or tuple of slice
        Step-1 slices; missing trailing axes are whole.

    Returns
    -------
    Box

    Raises
    ------
    TypeError
        For an index that is not slices with integer bounds.
    ValueError
        For a step other than 1.
    IndexError
        For more slices than dimensions.
    """
    if isinstance(index, slice):
        index = (index,)
    if not isinstance(index, tuple) or not all(isinstance(s, slice) for s in index):
        raise TypeError(f"block index must be a tuple of slices (step 1), got {index!r}")
    if len(index) > len(shape):
        raise IndexError(f"too many indices: shape {shape} has {len(shape)} dimensions, "
                         f"got {len(index)} slices")
    box = []
    for axis, n in enumerate(shape):
        s = index[axis] if axis < len(index) else slice(None)
        for part in (s.start, s.stop, s.step):
            if part is not None and (isinstance(part, bool) or not hasattr(part, "__index__")):
                raise TypeError(f"slice bounds must be integers or None, got {s!r}")
        start, stop, step = s.indices(n)
        if step != 1:
            raise ValueError(f"block slices must have step 1, got {s!r} on axis {axis}")
        box.append((start, max(start, stop)))
    return tuple(box)


def box_runs(shape: tuple[int, ...], box: Box) -> tuple[int, np.ndarray]:
    """Split a box into runs that are contiguous in the full tensor.

    Parameters
    ----------
    shape : tuple of int
        Shape of the full tensor.
    box : Box
        Part of it.

    Returns
    -------
    (int, numpy.ndarray)
        ``(run_length, offsets)``: the box, in C order, is ``len(offsets)``
        runs of ``run_length`` elements, run ``r`` starting at flat index
        ``offsets[r]`` (int64, increasing) of the full tensor.  A fill-API
        call with ``offset=offsets[r]`` writes run ``r``.

    Examples
    --------
    >>> from varinit.blocks import box_runs
    >>> length, offsets = box_runs((4, 10), ((1, 3), (2, 5)))
    >>> length, offsets.tolist()
    (3, [12, 22])
    """
    lengths = box_shape(box)
    if any(n == 0 for n in lengths):
        return 0, np.zeros(0, np.int64)
    if not shape:
        return 1, np.zeros(1, np.int64)
    strides = [1] * len(shape)
    for axis in range(len(shape) - 2, -1, -1):
        strides[axis] = strides[axis + 1] * shape[axis + 1]
    # The first axis (from the right) that the box does not cover fully
    # bounds the runs; every axis after it is whole, so it continues the run.
    split = len(shape) - 1
    while split > 0 and box[split] == (0, shape[split]):
        split -= 1
    run_length = lengths[split] * strides[split]
    start = box[split][0] * strides[split]
    if split == 0:
        return run_length, np.array([start], np.int64)
    grids = np.ix_(*[np.arange(lo, hi, dtype=np.int64) * strides[axis]
                     for axis, (lo, hi) in enumerate(box[:split])])
    return run_length, (sum(grids) + start).ravel()


# ---------------------------------------------------------------------------
# Windows: contiguous C-order pieces of a table, each a box
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    """A contiguous piece of a C-order table that is also a box."""

    start: int                    # first flat element
    count: int                    # number of elements
    index: tuple[slice, ...]      # the box, as step-1 slices
    shape: tuple[int, ...]        # the box's shape


def windows(shape: tuple[int, ...], max_elems: int) -> Iterator[Window]:
    """Cut a C-order table into contiguous boxes of at most ``max_elems``
    elements (at least one element), in increasing flat order.

    Parameters
    ----------
    shape : tuple of int
        Shape of the table.
    max_elems : int
        Largest window, in elements (at least 1).

    Yields
    ------
    Window
    """
    total = math.prod(shape)
    if total == 0:
        return
    if not shape:
        yield Window(0, 1, (), ())
        return
    ndim = len(shape)
    suffix = [1] * ndim                     # suffix[k] = prod(shape[k+1:])
    for k in range(ndim - 2, -1, -1):
        suffix[k] = suffix[k + 1] * shape[k + 1]
    split = next(k for k in range(ndim) if suffix[k] <= max_elems)
    step = max(1, max_elems // suffix[split])
    tail = tuple(slice(0, d) for d in shape[split + 1:])
    for outer in np.ndindex(*shape[:split]):
        head = tuple(slice(i, i + 1) for i in outer)
        base = 0
        for axis, i in enumerate(outer):
            base += i * suffix[axis]
        for a in range(0, shape[split], step):
            b = min(a + step, shape[split])
            yield Window(base + a * suffix[split], (b - a) * suffix[split],
                         head + (slice(a, b),) + tail,
                         (1,) * split + (b - a,) + shape[split + 1:])


class Blockwise(Protocol):
    """What the window helpers need of an initializer: its ``block`` method."""

    def block(self, shape: tuple[int, ...], index: BlockIndex, dtype: np.dtype | None = None,
              out: np.ndarray | None = None) -> np.ndarray: ...


def probe(init: Blockwise, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Generate one element (or nothing) so that bad shapes, dtypes and
    initializers that cannot work blockwise fail before any output exists.

    Raises
    ------
    TypeError
        If the initializer's ``block`` returns another dtype; whatever
        ``block`` raises otherwise (``NotImplementedError`` for
        initializers that need the whole tensor, such as Orthogonal).
    """
    index = tuple(slice(0, min(1, d)) for d in shape)
    with _threads.num_threads(1):
        got = init.block(shape, index, dtype)
    if np.asarray(got).dtype != dtype:
        raise TypeError(f"{type(init).__name__}.block returned {np.asarray(got).dtype}, "
                        f"expected {dtype}")


# ---------------------------------------------------------------------------
# Buffers larger than memory: a shared file mapping, window by window
# ---------------------------------------------------------------------------

def _mapping_of(out: np.ndarray) -> mmap.mmap | None:
    """The writable shared mapping behind ``out``, if it is a numpy.memmap."""
    if not isinstance(out, np.memmap):
        return None
    mm = getattr(out, "_mmap", None)
    if not isinstance(mm, mmap.mmap) or getattr(out, "mode", None) not in ("r+", "w+"):
        return None
    return mm


def fill_windowed(pinned: Blockwise, out: object, *, threshold: int = 0,
                  on_bytes: Callable[[int], None] | None = None) -> bool:
    """Fill a shared, writable ``numpy.memmap`` window by window if possible.

    ``Initializer.__call__`` uses it for ``out=np.memmap(...)`` (with
    ``threshold=MAPPED_THRESHOLD``) and :func:`varinit.io.fill_mapped` with
    progress.  Each window of :data:`MAPPED_WINDOW` bytes is generated by
    ``pinned.block`` into the map, then ``msync``-ed and dropped from the
    process with ``madvise(MADV_DONTNEED)`` (lossless for shared file
    mappings), so resident memory stays about one window however large the
    file.

    Parameters
    ----------
    pinned : Initializer
        An initializer whose seed is pinned (:meth:`Initializer.pinned`),
        so that every window uses one seed.
    out : object
        The buffer.
    threshold : int, optional
        Only maps of more than this many bytes are windowed.
    on_bytes : callable, optional
        ``on_bytes(done)`` with the bytes filled so far: 0 once the windowed
        fill is known to go ahead (before the first window), then after each
        window.  Not called when this returns False.

    Returns
    -------
    bool
        Whether ``out`` was filled; False, touching nothing, when ``out`` is
        not such a map, is not larger than ``threshold`` bytes, or ``pinned``
        cannot generate blocks: the caller then fills as usual.
    """
    if not isinstance(out, np.memmap) or out.nbytes <= threshold or out.size == 0:
        return False
    mm = _mapping_of(out)
    if mm is None or not out.flags.c_contiguous:
        return False
    shape = tuple(out.shape)
    dtype = out.dtype
    try:
        probe(pinned, shape, dtype)
    except NotImplementedError:
        return False
    base = _address_of_mapping(mm)
    page = mmap.PAGESIZE
    data = out.ctypes.data
    flat = out.view(np.ndarray).reshape(-1)
    done = 0
    if on_bytes is not None:
        on_bytes(0)
    for w in windows(shape, max(1, MAPPED_WINDOW // dtype.itemsize)):
        piece = flat[w.start:w.start + w.count].reshape(w.shape)
        pinned.block(shape, w.index, dtype, out=piece)
        lo = data + w.start * dtype.itemsize - base
        hi = lo + w.count * dtype.itemsize
        lo_page = lo // page * page
        hi_page = min(-(-hi // page) * page, len(mm))
        mm.flush(lo_page, hi_page - lo_page)
        if hasattr(mm, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            mm.madvise(mmap.MADV_DONTNEED, lo_page, hi_page - lo_page)
        done += w.count * dtype.itemsize
        if on_bytes is not None:
            on_bytes(done)
    return True


def _address_of_mapping(mm: mmap.mmap) -> int:
    import ctypes
    view = (ctypes.c_char * 1).from_buffer(mm)
    try:
        return ctypes.addressof(view)
    finally:
        del view
