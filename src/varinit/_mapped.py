"""Windows of a C-order table, and filling a ``numpy.memmap`` window by window.

This module is shared by two users: ``Initializer.__call__``, which fills a
large ``out=np.memmap(...)`` window by window so its dirty pages never have
to fit in memory, and :mod:`varinit.io`, which builds its file writers,
verification and :func:`varinit.io.fill_mapped` on the same windows.  It
lives here, below both, so that the initializer API does not import the file
writers: it depends only on numpy, the standard library and
:mod:`varinit._threads`, and talks to the initializer only through its
public ``block`` method.
"""
from __future__ import annotations

import math
import mmap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _threads

#: memmaps larger than this are filled window by window with flush + release.
MAPPED_THRESHOLD = 256 << 20
#: Window of a mapped fill.
MAPPED_WINDOW = 64 << 20


# ---------------------------------------------------------------------------
# Windows: contiguous C-order pieces of a table, each a block of step-1 slices
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Window:
    start: int                    # first flat element
    count: int                    # number of elements
    index: tuple[slice, ...]      # the block, as step-1 slices
    shape: tuple[int, ...]        # the block's shape


def windows(shape: tuple[int, ...], max_elems: int) -> Iterator[Window]:
    """Cut a C-order table into contiguous blocks of at most ``max_elems``
    elements (at least one element), in increasing flat order."""
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


def check_initializer(init: Any) -> None:
    """Check ``init`` can be generated window by window.

    Parameters
    ----------
    init : object
        A varinit initializer, or any object with a ``block`` method.

    Raises
    ------
    TypeError
        If ``init`` has no callable ``block`` method.
    """
    if not callable(getattr(init, "block", None)):
        raise TypeError(f"expected a varinit initializer (with .block()), got "
                        f"{type(init).__name__}")


def probe(init: Any, shape: tuple[int, ...], dtype: np.dtype) -> None:
    """Generate one element (or nothing) so bad shapes, dtypes and initializers
    that cannot work blockwise fail before any file is created."""
    index = tuple(slice(0, min(1, d)) for d in shape)
    with _threads.num_threads(1):
        got = init.block(shape, index, dtype)
    if np.asarray(got).dtype != dtype:
        raise TypeError(f"{type(init).__name__}.block returned {np.asarray(got).dtype}, "
                        f"expected {dtype}")


# ---------------------------------------------------------------------------
# np.memmap larger than RAM
# ---------------------------------------------------------------------------

def mapping_of(out: np.ndarray) -> mmap.mmap | None:
    """The writable shared mapping behind ``out``, if it is a numpy.memmap."""
    if not isinstance(out, np.memmap):
        return None
    mm = getattr(out, "_mmap", None)
    if not isinstance(mm, mmap.mmap) or getattr(out, "mode", None) not in ("r+", "w+"):
        return None
    return mm


def fill_mapped_windows(init: Any, out: Any, *, threshold: int = 0,
                        on_bytes: Callable[[int], None] | None = None) -> bool:
    """Fill a shared, writable ``numpy.memmap`` window by window if possible.

    This is the hook ``Initializer.__call__`` uses for ``out=np.memmap(...)``
    (with ``threshold=MAPPED_THRESHOLD``), and the engine of
    :func:`varinit.io.fill_mapped`: it returns False, touching nothing, when
    ``out`` is not such a map, is smaller than ``threshold`` bytes, or
    ``init`` cannot generate blocks; the caller then fills as usual.  When it
    returns True, ``out`` holds ``init(out.shape, out.dtype)`` (seed as
    ``block``: not advanced).  ``block`` is called once per window, so
    callers pass an initializer whose seed is pinned
    (``Initializer._with_fixed_seed``): all windows then use one seed.

    Each window of :data:`MAPPED_WINDOW` bytes is generated by
    ``init.block`` into the map, then ``msync``-ed and dropped from the
    process with ``madvise(MADV_DONTNEED)`` (lossless for shared file
    mappings), so resident memory stays about one window.

    Parameters
    ----------
    init : Initializer
        A varinit initializer.
    out : object
        The ``out=`` buffer.
    threshold : int, optional
        Only maps of more than this many bytes are windowed.
    on_bytes : callable, optional
        ``on_bytes(done)`` is called with the bytes filled so far: with 0
        once the windowed fill is known to go ahead (before the first
        window), then after each window.  Not called when this returns
        False.

    Returns
    -------
    bool
        Whether ``out`` was filled.
    """
    if not isinstance(out, np.memmap) or out.nbytes <= threshold or out.size == 0:
        return False
    mm = mapping_of(out)
    if mm is None or not out.flags.c_contiguous:
        return False
    shape = tuple(out.shape)
    dtype = out.dtype
    try:
        probe(init, shape, dtype)
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
        init.block(shape, w.index, dtype, out=piece)
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
