"""The callables being timed: varinit, numpy and torch (optional, imported lazily)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

import varinit

from .workloads import SEED, WORKLOADS, Spec, Workload, new_array_shape


class Buffers:
    """Warm (pre-touched) buffers of ``n`` elements, one per dtype, made on demand.

    Parameters
    ----------
    n : int
        Elements per buffer.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self._arrays: dict[str, np.ndarray] = {}

    def get(self, dtype: str) -> np.ndarray:
        """The warm buffer of ``dtype`` (allocated and touched on first use).

        Parameters
        ----------
        dtype : str
            ``"float32"`` or ``"float64"``.

        Returns
        -------
        numpy.ndarray
            One-dimensional, ``n`` elements.
        """
        if dtype not in self._arrays:
            buf = np.empty(self.n, dtype)
            buf.fill(0.0)
            self._arrays[dtype] = buf
        return self._arrays[dtype]

    def release(self, keep: Iterable[str] = ()) -> None:
        """Drop the buffers of every dtype not in ``keep``.

        Parameters
        ----------
        keep : iterable of str, optional
            Dtypes whose buffers stay.
        """
        for dtype in list(self._arrays):
            if dtype not in keep:
                del self._arrays[dtype]


def split(array: np.ndarray, parts: int) -> list[np.ndarray]:
    """``array`` cut into ``parts`` contiguous views, one per thread.

    Parameters
    ----------
    array : numpy.ndarray
        One-dimensional.
    parts : int
        Number of views (the last may be shorter).

    Returns
    -------
    list of numpy.ndarray
    """
    step = -(-array.size // parts)
    return [array[i * step:(i + 1) * step] for i in range(parts)]


# --------------------------------------------------------------------------
# What runners leave behind between rows, taken back by release()
# --------------------------------------------------------------------------

# One pool per thread count, shared by the numpy rows of a run so that
# thread start-up is not timed.
_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()
# torch's thread count before the first torch row changed it.
_torch_threads_before: list[int] = []


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="bench-numpy")
        return _pools[threads]


def release() -> None:
    """Shut the numpy rows' thread pools down and give torch back its thread count.

    Later runners make new pools; :func:`varinit.benchmarks.measure` calls
    this when it ends.
    """
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True)
    if _torch_threads_before:
        import torch
        torch.set_num_threads(_torch_threads_before.pop())


# --------------------------------------------------------------------------
# Runners
# --------------------------------------------------------------------------

def _in_parts(job: Callable[..., object], arguments: list[tuple]) -> Callable[[], None]:
    """Run ``job(*a)`` for every ``a`` of ``arguments`` on a thread pool, and wait."""
    pool = _pool(len(arguments))

    def run() -> None:
        for future in [pool.submit(job, *a) for a in arguments]:
            future.result()
    return run


def _memset_runner(buf: np.ndarray, threads: int) -> Callable[[], object]:
    if threads == 1:
        return lambda: buf.fill(0.5)
    return _in_parts(np.ndarray.fill, [(part, 0.5) for part in split(buf, threads)])


def _numpy_runner(w: Workload, buf: np.ndarray, threads: int) -> Callable[[], object]:
    draw, (a, b) = w.counterpart.numpy_draw, w.params
    if threads == 1:
        rng = np.random.default_rng(SEED)
        return lambda: draw(rng, buf, a, b)
    # numpy's documented multithreaded generation: one spawned generator per
    # thread, each filling its own contiguous part (the fills release the GIL).
    rngs = [np.random.Generator(np.random.PCG64(s))
            for s in np.random.SeedSequence(SEED).spawn(threads)]
    return _in_parts(draw, [(r, part, a, b) for r, part in zip(rngs, split(buf, threads))])


def _torch_runner(w: Workload, buf: np.ndarray, threads: int) -> Callable[[], object]:
    import torch

    if not _torch_threads_before:
        _torch_threads_before.append(torch.get_num_threads())
    t = torch.from_numpy(buf)           # shares buf's memory
    torch.manual_seed(SEED)
    draw, (a, b) = w.counterpart.torch_draw, w.params

    def run() -> None:
        torch.set_num_threads(threads)
        draw(torch, t, a, b)
    return run


def _varinit_runner(spec: Spec, w: Workload, buffers: Buffers) -> Callable[[], object]:
    if w.kind == "new":
        init, shape, dtype = varinit.GlorotUniform(seed=SEED), new_array_shape(buffers.n), w.dtype

        def call() -> object:
            return init(shape, dtype=dtype)
    else:
        # The public fill_<distribution> function, as a user calls it.
        fill, (a, b), buf = getattr(varinit, f"fill_{w.dist.name}"), w.params, buffers.get(w.dtype)

        def call() -> object:
            return fill(buf, a, b, seed=SEED)
    kernel, threads = spec.path, spec.threads

    def run() -> object:
        # Both settings are the calling thread's only, so the rows timed
        # beside this one are untouched; entering them costs microseconds.
        with varinit.use_kernel(kernel), varinit.num_threads(threads):
            return call()
    return run


def make_runner(spec: Spec, buffers: Buffers) -> Callable[[], object]:
    """Build the zero-argument callable that performs one timed call of ``spec``.

    Parameters
    ----------
    spec : Spec
        The row to run.
    buffers : Buffers
        Supplies the warm buffer every in-place case of a dtype writes into.

    Returns
    -------
    callable
        Takes no argument; the set-up (buffers, generators, thread pools,
        initializers) is done here, outside the timed call.  A varinit row's
        call is the public ``fill_*`` call (buffer check, cached parameter
        rounding, fill) or ``init(shape)``, inside ``with
        varinit.use_kernel(spec.path), varinit.num_threads(spec.threads)``:
        settings of the calling thread, entered once per call.
    """
    w = WORKLOADS[spec.workload]
    if spec.library == "varinit":
        return _varinit_runner(spec, w, buffers)
    if w.kind == "new":
        shape, dtype = new_array_shape(buffers.n), w.dtype

        def numpy_new() -> np.ndarray:
            out = np.empty(shape, dtype)
            out.fill(0.5)
            return out
        return numpy_new
    buf = buffers.get(w.dtype)
    if w.kind == "memset":
        return _memset_runner(buf, spec.threads)
    if spec.library == "torch":
        return _torch_runner(w, buf, spec.threads)
    return _numpy_runner(w, buf, spec.threads)
