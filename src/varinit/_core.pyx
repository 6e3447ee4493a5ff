# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, binding=True
"""The single Cython layer between varinit's Python API and its C kernels.

Everything that touches raw memory goes through here: the one ``out=``
checker, the GIL release, and the threads that split a fill by blocks.
Parameter checking and rounding happen in Python (``varinit._fill``).
"""

from libc.stdint cimport uint32_t, uint64_t, int64_t
from libc.string cimport memset
cimport numpy as cnp

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from varinit._validate import integer, u64

cnp.import_array()

cdef extern from "csrc/pcg32.h" nogil:
    ctypedef struct vi_pcg32:
        uint64_t state
        uint64_t inc
    uint32_t vi_pcg32_next(vi_pcg32 *g)
    void vi_pcg32_seed(vi_pcg32 *g, uint64_t initstate, uint64_t initseq)
    void vi_pcg32_advance(vi_pcg32 *g, uint64_t delta)

cdef extern from "csrc/vi_stream.h" nogil:
    int VI_STREAM_VERSION
    int VI_LANES
    int VI_BLOCK

cdef extern from "csrc/vi_kernels.h" nogil:
    # Opaque here: its fields are defined once, in C, and set by name.
    ctypedef struct vi_params:
        pass
    int vi_params_set(vi_params *p, const char *name, double value)
    ctypedef struct vi_kernel_table:
        const char *name
    int VI_DIST_RAW, VI_DIST_UNIFORM, VI_DIST_NORMAL, VI_DIST_NORMAL_FLAT, VI_DIST_NORMAL_TAIL
    int VI_DIST_NORMAL_TRUNC, VI_NDIST
    int VI_U32, VI_F32, VI_F64, VI_F16, VI_BF16, VI_F8E4M3, VI_F8E5M2, VI_NDTYPE

cdef extern from "csrc/vi_dispatch.h" nogil:
    const vi_kernel_table *vi_kernel_table_named(const char *name)
    const char *vi_best_kernel_name()
    const char *vi_missing_features(const char *name)
    const char *vi_cpu_features_string()

cdef extern from "csrc/vi_fill.h" nogil:
    int vi_fill_supported(const vi_kernel_table *K, int dist, int dtype)
    int vi_fill_range(const vi_kernel_table *K, int dist, int dtype, uint64_t seed,
                      const vi_params *p, uint64_t first, size_t n, void *out)

cdef extern from "csrc/vi_sync.h" nogil:
    int64_t vi_atomic_add(int64_t *p, int64_t v)
    int64_t vi_atomic_load(int64_t *p)
    void vi_atomic_store(int64_t *p, int64_t v)
    void vi_wait_briefly()

cdef extern from "Python.h":
    int PyErr_CheckSignals() except -1

STREAM_VERSION = VI_STREAM_VERSION
LANES = VI_LANES
BLOCK = VI_BLOCK

# Elements per unit of work handed to a thread: whole blocks, short enough
# (well under a millisecond on the fast paths, a few ms on the scalar one)
# that cancellation and Ctrl-C are noticed quickly.
cdef uint64_t CHUNK_ELEMS = 16 * VI_BLOCK
CHUNK = CHUNK_ELEMS
# Chunks the calling thread fills between two checks for Ctrl-C.
cdef int CALLER_CHUNKS = 16


# --------------------------------------------------------------------------
# PCG32, the reference generator, exposed for tests and outside batteries
# --------------------------------------------------------------------------

cdef class PCG32:
    """PCG32(initstate, initseq)

    One PCG32 (XSH-RR 64/32) generator, seeded as the reference
    ``pcg32_srandom_r(initstate, initseq)``.

    Every lane of a varinit fill is such a generator (see ``docs/stream.md``),
    so this class reproduces :func:`varinit.random_raw` and lets outside test
    batteries check the stream.  An instance is not thread-safe (like a
    numpy ``BitGenerator`` without its lock): use one per thread.

    Parameters
    ----------
    initstate, initseq : int
        Seeding values in ``[0, 2**64)``.

    Examples
    --------
    >>> g = PCG32(42, 54)
    >>> hex(g.next32())
    '0xa15c02b7'
    """
    cdef vi_pcg32 _g

    def __init__(self, initstate, initseq):
        vi_pcg32_seed(&self._g, u64(initstate, "initstate"), u64(initseq, "initseq"))

    def next32(self):
        """next32()

        Advance one step and return the output.

        Returns
        -------
        int
            The next 32-bit output, in ``[0, 2**32)``.
        """
        return vi_pcg32_next(&self._g)

    def random_raw(self, n=None):
        """random_raw(n=None)

        Advance ``n`` steps and return their outputs, as numpy's
        ``BitGenerator.random_raw``.

        Parameters
        ----------
        n : int, optional
            Number of outputs, non-negative; ``None`` for one output as an int.

        Returns
        -------
        numpy.ndarray or int
            The next ``n`` outputs, ``uint32``; or the next output.
        """
        if n is None:
            return vi_pcg32_next(&self._g)
        cdef Py_ssize_t count = integer(n, "n", low=0)
        cdef cnp.ndarray[uint32_t, ndim=1] out = np.empty(count, np.uint32)
        cdef uint32_t *p = <uint32_t *>out.data
        cdef Py_ssize_t i
        with nogil:
            for i in range(count):
                p[i] = vi_pcg32_next(&self._g)
        return out

    def advance(self, delta):
        """advance(delta)

        Jump ahead by Brown's method in O(log delta) steps.

        Parameters
        ----------
        delta : int
            Outputs to skip; negative jumps back (modulo 2**64).

        Returns
        -------
        PCG32
            ``self``.
        """
        delta = integer(delta, "delta")
        vi_pcg32_advance(&self._g, <uint64_t>(delta % (1 << 64)))
        return self

    @property
    def state(self):
        """The current ``(state, inc)`` pair of the LCG."""
        return (self._g.state, self._g.inc)

    def __repr__(self):
        return f"PCG32(state={self._g.state:#x}, inc={self._g.inc:#x})"

    def __reduce__(self):
        return (_pcg32_at, self.state)


def _pcg32_at(state, inc):
    """The PCG32 generator whose LCG holds ``(state, inc)``: unpickling."""
    cdef PCG32 g = PCG32.__new__(PCG32)
    g._g.state = u64(state, "state")
    g._g.inc = u64(inc, "inc")
    return g


# --------------------------------------------------------------------------
# Kernel tables
# --------------------------------------------------------------------------

def best_kernel():
    """Name of the fastest kernel table this CPU and OS support."""
    return vi_best_kernel_name().decode()


def missing_features(name):
    """CPU features that kernel table ``name`` needs and this machine lacks
    (empty if it can run); ``None`` if no such table is compiled in."""
    cdef const char *missing = vi_missing_features(name.encode())
    return None if missing == NULL else missing.decode()


def cpu_features():
    """The CPU features the probe found, space-separated."""
    return vi_cpu_features_string().decode()


cdef const vi_kernel_table *_table(str name) except NULL:
    cdef const vi_kernel_table *table = vi_kernel_table_named(name.encode())
    if table == NULL:
        raise ValueError(f"kernel {name!r} is not available on this machine")
    return table


# --------------------------------------------------------------------------
# The out= checker
# --------------------------------------------------------------------------

def check_out(out, codes, what):
    """check_out(out, codes, what)

    Validate a caller's output buffer and return its dtype code.

    ``codes`` maps the names of the dtypes the caller accepts to their C
    dtype codes (``varinit.dtypes`` builds it).  A wrong type or
    dtype raises ``TypeError``; read-only, non-contiguous, misaligned or
    byte-swapped buffers raise ``ValueError``.  Nothing is ever copied.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    dtype = out.dtype
    code = codes.get(dtype.name) if dtype.kind in "ufV" else None
    if code is None:
        raise TypeError(f"{what} cannot fill an array of dtype {dtype}")
    if not dtype.isnative:
        raise ValueError(f"out has non-native byte order ({dtype.str}); "
                         "varinit writes native-endian values only")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous (varinit fills flat C order, "
                         "it never copies)")
    if not out.flags.aligned:
        raise ValueError(f"out is not aligned to its {dtype.itemsize}-byte elements")
    return code


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------

cdef class _FillJob:
    """One fill, split in CHUNK-sized pieces claimed by whoever is free.

    Protocol: a helper raises `inflight`, then claims chunks until they run
    out or `cancelled` is set, then lowers `inflight`.  The caller works too,
    then sets `cancelled` and waits for `inflight == 0`; with sequentially
    consistent atomics no late helper can start writing after that.
    """
    cdef const vi_kernel_table *table
    cdef int dist, dtype
    cdef uint64_t seed
    cdef vi_params params
    cdef uint64_t first, stop, grid0
    cdef char *out
    cdef object owner          # keeps the caller's array alive while helpers may write
    cdef size_t itemsize
    cdef int64_t nchunks, next_chunk, inflight, cancelled

    cdef bint _work_one(self) noexcept nogil:
        """Claim and fill one chunk; False when there is nothing left."""
        if vi_atomic_load(&self.cancelled):
            return False
        cdef int64_t c = vi_atomic_add(&self.next_chunk, 1)
        if c >= self.nchunks:
            return False
        cdef uint64_t lo = self.grid0 + <uint64_t>c * CHUNK_ELEMS
        cdef uint64_t hi = lo + CHUNK_ELEMS
        if lo < self.first:
            lo = self.first
        if hi > self.stop:
            hi = self.stop
        vi_fill_range(self.table, self.dist, self.dtype, self.seed, &self.params,
                      lo, <size_t>(hi - lo), self.out + (lo - self.first) * self.itemsize)
        return True

    def help(self):
        """Entry point of a pool thread."""
        vi_atomic_add(&self.inflight, 1)
        with nogil:
            while self._work_one():
                pass
        vi_atomic_add(&self.inflight, -1)

    cdef void finish(self) noexcept nogil:
        vi_atomic_store(&self.cancelled, 1)
        while vi_atomic_load(&self.inflight) != 0:
            vi_wait_briefly()

    def run_in_caller(self):
        """Work in the calling thread, checking for signals every few chunks."""
        cdef bint more = True
        cdef int k
        try:
            while more:
                # CALLER_CHUNKS chunks per GIL round trip: at most ~20 ms even
                # on the slowest path (scalar float64 normal), far fewer
                # round trips on the fast ones.
                with nogil:
                    for k in range(CALLER_CHUNKS):
                        more = self._work_one()
                        if not more:
                            break
                PyErr_CheckSignals()
        finally:
            with nogil:
                self.finish()


# One executor for the process.  It only ever grows (ThreadPoolExecutor
# starts a thread when a task finds none idle, up to max_workers) and is
# never replaced while a fill may be submitting to it.
MAX_POOL_THREADS = 256
_pool = None
_pool_lock = threading.Lock()


def _get_pool():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=MAX_POOL_THREADS,
                                       thread_name_prefix="varinit")
        return _pool


def _forget_pool():
    # After fork the child has none of the parent's threads: start afresh.
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


# --------------------------------------------------------------------------
# The fill entry point
# --------------------------------------------------------------------------

def fill(out, int dtype_code, int dist, dict params, seed, offset, int threads, str kernel):
    """fill(out, dtype_code, dist, params, seed, offset, threads, kernel)

    Fill a buffer already accepted by :func:`check_out` with stream elements
    ``[offset, offset + out.size)``.  ``params`` holds the ``vi_params``
    fields by name (absent ones are zero); ``dist`` is one of the
    ``DIST_*`` codes.  A (distribution, dtype) the kernel table has no slot
    for, or an unknown parameter name, is a ``ValueError``, before anything
    is written.
    """
    cdef cnp.ndarray arr = out
    if offset < 0 or offset + arr.size > (1 << 63):
        raise ValueError(f"stream indices must lie in [0, 2**63], got offset {offset} "
                         f"and {arr.size} elements")
    cdef _FillJob job = _FillJob.__new__(_FillJob)
    job.table = _table(kernel)
    job.dist = dist
    job.dtype = dtype_code
    job.seed = seed
    if not vi_fill_supported(job.table, dist, dtype_code):
        raise ValueError(f"kernel {kernel!r} has no slot for distribution {dist} and "
                         f"dtype {dtype_code}")
    memset(&job.params, 0, sizeof(vi_params))
    for name, value in params.items():
        if vi_params_set(&job.params, name.encode(), value) != 0:
            raise ValueError(f"unknown kernel parameter {name!r}")
    job.first = offset
    job.stop = offset + arr.size
    job.grid0 = job.first // CHUNK_ELEMS * CHUNK_ELEMS
    job.out = <char *>arr.data
    job.owner = arr
    job.itemsize = arr.itemsize
    job.nchunks = (job.stop - job.grid0 + CHUNK_ELEMS - 1) // CHUNK_ELEMS if arr.size else 0
    job.next_chunk = 0
    job.inflight = 0
    job.cancelled = 0
    cdef int helpers = min(threads - 1, job.nchunks - 1)
    if helpers > 0:
        try:
            pool = _get_pool()
            for _ in range(helpers):
                pool.submit(job.help)
        except BaseException:
            # e.g. submitting during interpreter shutdown: stop the helpers
            # already started before reporting, so none writes afterwards.
            with nogil:
                job.finish()
            raise
    job.run_in_caller()
    return out


DIST_RAW = VI_DIST_RAW
DIST_UNIFORM = VI_DIST_UNIFORM
DIST_NORMAL = VI_DIST_NORMAL
DIST_NORMAL_FLAT = VI_DIST_NORMAL_FLAT
DIST_NORMAL_TAIL = VI_DIST_NORMAL_TAIL
DIST_NORMAL_TRUNC = VI_DIST_NORMAL_TRUNC
NDIST = VI_NDIST
NDTYPE = VI_NDTYPE
DTYPE_U32 = VI_U32
DTYPE_F32 = VI_F32
DTYPE_F64 = VI_F64
DTYPE_F16 = VI_F16
DTYPE_BF16 = VI_BF16
DTYPE_F8E4M3 = VI_F8E4M3
DTYPE_F8E5M2 = VI_F8E5M2
