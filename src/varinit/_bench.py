"""``python -m varinit bench``: varinit's fills beside numpy (and torch) on one buffer.

This module holds the measurement code that both the command line and the
repository's ``bench/`` suite (``bench/report.py``, ``bench/test_bench_fill.py``)
use, so every published figure comes from the same code a user can run.

Method
------
* Every in-place workload writes into one preallocated buffer per dtype whose
  pages were touched (``buf.fill``) before any timing.
* Each case is called once to warm up, then timed ``repeats`` times with
  ``time.perf_counter``.  The cases of one workload are timed in interleaved
  rounds (varinit, numpy, torch, varinit, ...), so a burst of load from
  another process hits all of them alike and ratios stay comparable.
* Rates use the best time (best-of-N); the spread is ``median / best - 1``.
* ``ratio`` = baseline time / case time for the same workload, measured in
  the same run (> 1: faster than the baseline).  The baseline is numpy's
  ``Generator`` with the same number of threads (the ``SeedSequence.spawn``
  plus thread-pool recipe of numpy's documentation when threads > 1), or
  ``np.empty(shape)`` + ``fill`` for the new-array workload.
* ``of buf.fill`` = samples/s / the samples/s of a one-thread ``buf.fill``
  on a warm buffer of the same dtype: the fraction of store bandwidth
  reached.  ``buf.fill`` is also timed split over all threads, to show how
  much more bandwidth several cores get.
"""
from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import _dispatch, _distributions, _fill
from ._dispatch import use_kernel
from ._threads import get_num_threads, num_threads
from ._version import __version__
from .initializers import TRUNCATED_STDDEV_FACTOR, GlorotUniform

__all__ = [
    "WORKLOADS", "Workload", "Spec", "Result", "Buffers",
    "specs", "make_runner", "measure", "reference_specs", "derive", "text_table",
    "markdown_table", "machine_info", "parallel_capacity", "run_bench",
]

DEFAULT_SIZE = 1 << 26
DEFAULT_REPEATS = 5

# Glorot-uniform limit and Glorot-normal stddev of an 8192 x 8192 matrix
# (fan_in + fan_out = 16384); the truncated normal's stddev is divided by the
# std of a standard normal truncated to +-2 so the result has variance 2/fan.
UNIFORM_LIMIT = math.sqrt(6.0 / 16384)
NORMAL_STDDEV = math.sqrt(2.0 / 16384)
TRUNCATED_STDDEV = math.sqrt(2.0 / 16384) / TRUNCATED_STDDEV_FACTOR

SEED = 12345
NEW_ARRAY_COLS = 8192


@dataclass(frozen=True)
class Workload:
    """One benchmarked job: what is written and which baseline it is judged by."""

    name: str          # e.g. "uniform f32"
    dtype: str         # "float32" / "float64"
    kind: str          # "uniform" | "normal" | "truncated" | "memset" | "new"
    describe: str      # one line for tables and docs


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("uniform f32", "float32", "uniform",
             "U[-a, a), a = sqrt(6/16384), warm float32 buffer"),
    Workload("truncated normal f32", "float32", "truncated",
             "N(0, s) truncated to +-2s by rejection, warm float32 buffer"),
    Workload("normal f32", "float32", "normal", "N(0, s), warm float32 buffer"),
    Workload("uniform f64", "float64", "uniform",
             "U[-a, a), warm float64 buffer"),
    Workload("truncated normal f64", "float64", "truncated",
             "N(0, s) truncated to +-2s, warm float64 buffer"),
    Workload("buf.fill f32", "float32", "memset",
             "buf.fill(0.5) on a warm float32 buffer: store bandwidth"),
    Workload("buf.fill f64", "float64", "memset",
             "buf.fill(0.5) on a warm float64 buffer: store bandwidth"),
    Workload("new array f32", "float32", "new",
             "a new (n/8192, 8192) float32 array, page faults included"),
)}


@dataclass(frozen=True)
class Spec:
    """One row of a benchmark: a workload run by one library, path and thread count."""

    workload: str
    library: str       # "varinit" | "numpy" | "torch"
    path: str          # kernel table for varinit; method for the others
    threads: int

    @property
    def id(self) -> str:
        """Short identifier, usable as a pytest parameter id."""
        return f"{self.workload}-{self.library}-{self.path}-T{self.threads}".replace(" ", "_")

    @property
    def is_baseline(self) -> bool:
        """True for the rows other rows of the workload are compared with."""
        return self.library == "numpy" and self.path in ("Generator", "np.empty+fill")

    @property
    def call(self) -> str:
        """The call being timed, for tables."""
        w = WORKLOADS[self.workload]
        if self.library == "varinit":
            if w.kind == "new":
                return "GlorotUniform(seed)(shape)"
            return {"uniform": "fill_uniform", "normal": "fill_normal",
                    "truncated": "fill_truncated_normal"}[w.kind]
        if self.library == "torch":
            return {"uniform": "t.uniform_(-a, a)", "normal": "t.normal_(0, s)",
                    "truncated": "nn.init.trunc_normal_(t, 0, s, -2s, 2s)"}[w.kind]
        if w.kind == "memset":
            return "buf.fill(0.5)" + ("" if self.threads == 1 else
                                      f" in {self.threads} parts from a thread pool")
        if w.kind == "new":
            return "np.empty(shape); fill(0.5)"
        recipe = {"uniform": "random(out=buf); buf *= 2a; buf -= a",
                  "normal": "standard_normal(out=buf)",
                  "truncated": "standard_normal(out=buf); redraw |x|>2; buf *= s"}[w.kind]
        return recipe if self.threads == 1 else f"{recipe} (spawned generators, thread pool)"


@dataclass
class Result:
    """Timings of one :class:`Spec`, with the figures derived from them."""

    spec: Spec
    n: int
    times: list[float]
    ratio: float | None = None          # baseline best time / best time
    ratio_median: float | None = None   # the same with medians
    of_memset: float | None = None      # rate / buf.fill rate, same dtype
    baseline: str = ""

    @property
    def best(self) -> float:
        """Fastest timed call, in seconds."""
        return min(self.times)

    @property
    def median(self) -> float:
        """Median timed call, in seconds."""
        return statistics.median(self.times)

    @property
    def rate(self) -> float:
        """Samples per second of the best call."""
        return self.n / self.best

    @property
    def spread(self) -> float:
        """``median / best - 1``: 0 on a quiet machine."""
        return self.median / self.best - 1.0

    def as_dict(self) -> dict:
        """Plain-data form (for JSON and ``benchmark.extra_info``)."""
        return {
            "workload": self.spec.workload, "library": self.spec.library,
            "path": self.spec.path, "threads": self.spec.threads, "call": self.spec.call,
            "n": self.n, "times_s": self.times, "best_s": self.best, "median_s": self.median,
            "samples_per_s": self.rate, "spread": self.spread, "ratio": self.ratio,
            "ratio_median": self.ratio_median, "of_buf_fill": self.of_memset,
            "baseline": self.baseline,
        }


# --------------------------------------------------------------------------
# Which rows exist
# --------------------------------------------------------------------------

def torch_available() -> bool:
    """True if torch is installed (it is optional: its rows are left out without it).

    Returns
    -------
    bool
        Whether ``import torch`` can find the package (it is not imported here).
    """
    import importlib.util
    return importlib.util.find_spec("torch") is not None


def _torch_version() -> str | None:
    import importlib.metadata
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def default_threads() -> list[int]:
    """One thread and all threads varinit would use.

    Returns
    -------
    list of int
        ``[1, get_num_threads()]``, deduplicated and sorted.
    """
    return sorted({1, get_num_threads()})


def specs(threads: Sequence[int] | None = None, kernels: Sequence[str] | None = None,
          torch: bool | None = None, workloads: Iterable[str] | None = None) -> list[Spec]:
    """List the rows of a benchmark run, baselines first within each workload.

    Parameters
    ----------
    threads : sequence of int, optional
        Thread counts; default one thread and all threads.
    kernels : sequence of str, optional
        varinit kernel tables to run; default every path this CPU runs
        (:func:`varinit._dispatch.available_kernels`), so new SIMD paths
        appear without any change here.
    torch : bool, optional
        Include torch rows; default: if torch imports.
    workloads : iterable of str, optional
        Names from :data:`WORKLOADS`; default all.

    Returns
    -------
    list of Spec
    """
    names = list(WORKLOADS) if workloads is None else list(workloads)
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")
    threads = default_threads() if threads is None else sorted(set(threads))
    kernels = _dispatch.available_kernels() if kernels is None else list(kernels)
    torch = torch_available() if torch is None else torch
    rows: list[Spec] = []
    for name in names:
        w = WORKLOADS[name]
        if w.kind == "memset":
            rows += [Spec(name, "numpy", "buf.fill", t) for t in threads]
            continue
        if w.kind == "new":
            rows.append(Spec(name, "numpy", "np.empty+fill", 1))
            rows += [Spec(name, "varinit", _dispatch.active_kernel(), t) for t in threads]
            continue
        rows += [Spec(name, "numpy", "Generator", t) for t in threads]
        rows += [Spec(name, "varinit", k, t) for k in kernels for t in threads]
        if torch and w.dtype == "float32":
            method = {"uniform": "uniform_", "normal": "normal_",
                      "truncated": "trunc_normal_"}[w.kind]
            rows += [Spec(name, "torch", method, t) for t in threads]
    return rows


# --------------------------------------------------------------------------
# The callables being timed
# --------------------------------------------------------------------------

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


_pools: dict[int, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


def _pool(threads: int) -> ThreadPoolExecutor:
    with _pools_lock:
        if threads not in _pools:
            _pools[threads] = ThreadPoolExecutor(threads, thread_name_prefix="bench-numpy")
        return _pools[threads]


def _shutdown_pools() -> None:
    """Shut the numpy thread pools down (a later :func:`_pool` makes new ones)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=True)


def _numpy_truncated(rng: np.random.Generator, flat: np.ndarray, stddev: float) -> None:
    """numpy's usual recipe: standard normals, redraw those beyond 2, scale."""
    rng.standard_normal(dtype=flat.dtype, out=flat)
    bad = np.flatnonzero(np.abs(flat) > 2.0)
    while bad.size:
        redraw = rng.standard_normal(bad.size, dtype=flat.dtype)
        flat[bad] = redraw
        bad = bad[np.abs(redraw) > 2.0]
    flat *= stddev


def _numpy_job(kind: str) -> Callable[[np.random.Generator, np.ndarray], None]:
    a = UNIFORM_LIMIT

    def uniform(rng: np.random.Generator, flat: np.ndarray) -> None:
        rng.random(dtype=flat.dtype, out=flat)
        flat *= 2 * a
        flat -= a

    def normal(rng: np.random.Generator, flat: np.ndarray) -> None:
        rng.standard_normal(dtype=flat.dtype, out=flat)

    def truncated(rng: np.random.Generator, flat: np.ndarray) -> None:
        _numpy_truncated(rng, flat, TRUNCATED_STDDEV)

    return {"uniform": uniform, "normal": normal, "truncated": truncated}[kind]


def _numpy_runner(kind: str, buf: np.ndarray, threads: int) -> Callable[[], object]:
    job = _numpy_job(kind)
    if threads == 1:
        rng = np.random.default_rng(SEED)
        return lambda: job(rng, buf)
    # numpy's documented multithreaded generation: one spawned generator per
    # thread, each filling its own contiguous part (the fills release the GIL).
    rngs = [np.random.Generator(np.random.PCG64(s))
            for s in np.random.SeedSequence(SEED).spawn(threads)]
    step = -(-buf.size // threads)
    parts = [buf[i * step:(i + 1) * step] for i in range(threads)]
    pool = _pool(threads)

    def run() -> None:
        for future in [pool.submit(job, r, p) for r, p in zip(rngs, parts)]:
            future.result()
    return run


def _varinit_arguments(kind: str) -> tuple[str, float, float]:
    if kind == "uniform":
        return "uniform", -UNIFORM_LIMIT, UNIFORM_LIMIT
    if kind == "normal":
        return "normal", 0.0, NORMAL_STDDEV
    return "truncated_normal", 0.0, TRUNCATED_STDDEV


# torch's thread count before the first torch row changed it (restored by
# _restore_torch_threads).
_torch_threads_before: list[int] = []


def _restore_torch_threads() -> None:
    if _torch_threads_before:
        import torch
        torch.set_num_threads(_torch_threads_before.pop())


def _torch_runner(kind: str, buf: np.ndarray, threads: int) -> Callable[[], object]:
    import torch

    if not _torch_threads_before:
        _torch_threads_before.append(torch.get_num_threads())
    t = torch.from_numpy(buf)           # shares buf's memory
    torch.manual_seed(SEED)
    a, s = UNIFORM_LIMIT, TRUNCATED_STDDEV

    def run() -> None:
        torch.set_num_threads(threads)
        if kind == "uniform":
            t.uniform_(-a, a)
        elif kind == "normal":
            t.normal_(0.0, NORMAL_STDDEV)
        else:
            torch.nn.init.trunc_normal_(t, 0.0, s, -2 * s, 2 * s)
    return run


def _new_array_shape(n: int) -> tuple[int, ...]:
    return (n // NEW_ARRAY_COLS, NEW_ARRAY_COLS) if n % NEW_ARRAY_COLS == 0 else (n,)


def _new_array_runner(spec: Spec, n: int) -> Callable[[], object]:
    shape = _new_array_shape(n)
    if spec.library == "numpy":
        def numpy_new() -> np.ndarray:
            out = np.empty(shape, np.float32)
            out.fill(0.5)
            return out
        return numpy_new
    init = GlorotUniform(seed=SEED)

    def varinit_new() -> np.ndarray:
        with num_threads(spec.threads):
            return init(shape, dtype="float32")
    return varinit_new


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
        Takes no argument; all set-up (parameter rounding, generators,
        thread pools) is done here, outside the timed call.
    """
    w = WORKLOADS[spec.workload]
    if w.kind == "new":
        return _new_array_runner(spec, buffers.n)
    buf = buffers.get(w.dtype)
    if w.kind == "memset":
        if spec.threads == 1:
            return lambda: buf.fill(0.5)
        step = -(-buf.size // spec.threads)
        parts = [buf[i * step:(i + 1) * step] for i in range(spec.threads)]
        pool = _pool(spec.threads)

        def fill_parts() -> None:           # ndarray.fill releases the GIL
            for future in [pool.submit(part.fill, 0.5) for part in parts]:
                future.result()
        return fill_parts
    if spec.library == "numpy":
        return _numpy_runner(w.kind, buf, spec.threads)
    if spec.library == "torch":
        return _torch_runner(w.kind, buf, spec.threads)
    kernel, threads, kind = spec.path, spec.threads, w.kind

    name, a, b = _varinit_arguments(kind)
    dist = _distributions.get(name)

    def run() -> None:
        # The public fill_* call, with the kernel path forced.
        with use_kernel(kernel), num_threads(threads):
            _fill.fill_distribution(dist, buf, a, b, seed=SEED)
    return run


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------

def time_call(fn: Callable[[], object]) -> float:
    """Wall time of one call of ``fn``.

    Parameters
    ----------
    fn : callable
        Called once without arguments.

    Returns
    -------
    float
        Seconds, from ``time.perf_counter``.
    """
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _baseline_for(spec: Spec, done: Sequence[Result]) -> Result | None:
    candidates = [r for r in done if r.spec.workload == spec.workload and r.spec.is_baseline]
    for r in candidates:
        if r.spec.threads == spec.threads:
            return r
    ones = [r for r in candidates if r.spec.threads == 1]
    return ones[0] if ones else None


def reference_specs(spec: Spec) -> list[Spec]:
    """The rows :func:`derive` compares ``spec`` with.

    Parameters
    ----------
    spec : Spec
        A row of :func:`specs`.

    Returns
    -------
    list of Spec
        Its baseline (numpy's ``Generator`` with the same threads, or
        ``np.empty+fill`` for a new array; none for ``buf.fill`` rows) and
        the one-thread ``buf.fill`` row of its dtype.
    """
    w = WORKLOADS[spec.workload]
    memset = next(name for name, m in WORKLOADS.items()
                  if m.kind == "memset" and m.dtype == w.dtype)
    refs = [Spec(memset, "numpy", "buf.fill", 1)]
    if w.kind == "new":
        refs.insert(0, Spec(spec.workload, "numpy", "np.empty+fill", 1))
    elif w.kind != "memset":
        refs.insert(0, Spec(spec.workload, "numpy", "Generator", spec.threads))
    return refs


def derive(results: list[Result]) -> list[Result]:
    """Fill in each result's ratio to its baseline and fraction of ``buf.fill``.

    Parameters
    ----------
    results : list of Result
        Results of one run.

    Returns
    -------
    list of Result
        The same list, updated in place.
    """
    # the reference is one thread's buf.fill, as numpy users know it
    memset = {WORKLOADS[r.spec.workload].dtype: r for r in results
              if WORKLOADS[r.spec.workload].kind == "memset" and r.spec.threads == 1}
    for r in results:
        w = WORKLOADS[r.spec.workload]
        base = _baseline_for(r.spec, results)
        if base is not None and w.kind != "memset":
            r.ratio = base.best / r.best
            r.ratio_median = base.median / r.median
            r.baseline = f"{base.spec.library} {base.spec.path} T{base.spec.threads}"
        if w.dtype in memset:
            r.of_memset = r.rate / memset[w.dtype].rate
    return results


def measure(rows: Sequence[Spec], n: int = DEFAULT_SIZE, repeats: int = DEFAULT_REPEATS,
            budget: float = 15.0, progress: Callable[[str], None] | None = None,
            buffers: Buffers | None = None) -> list[Result]:
    """Time every row, workload by workload, in interleaved rounds.

    Parameters
    ----------
    rows : sequence of Spec
        From :func:`specs`.
    n : int
        Elements per buffer.
    repeats : int
        Timed calls per row (after one warm-up call): best-of-N.
    budget : float
        Seconds one row may take in all; a very slow row (torch's
        ``trunc_normal_``) is timed fewer times, but at least twice.
    progress : callable, optional
        Receives one line per finished row.
    buffers : Buffers, optional
        Warm buffers to write into (their ``n`` must equal ``n``); they are
        left to the caller.  By default the buffers are made here and
        released at the end.

    Returns
    -------
    list of Result
        In the order of ``rows``, with ratios filled in (:func:`derive`).
    """
    if n < 1 or repeats < 1:
        raise ValueError("n and repeats must be at least 1")
    if buffers is not None and buffers.n != n:
        raise ValueError(f"buffers hold {buffers.n} elements, not n={n}")
    try:
        return _measure(rows, n, repeats, budget, progress, buffers)
    finally:
        _shutdown_pools()
        _restore_torch_threads()


def _measure(rows: Sequence[Spec], n: int, repeats: int, budget: float,
             progress: Callable[[str], None] | None, buffers: Buffers | None) -> list[Result]:
    own = buffers is None
    if buffers is None:
        buffers = Buffers(n)
    results: list[Result] = []
    order = list(dict.fromkeys(s.workload for s in rows))
    for name in order:
        group = [s for s in rows if s.workload == name]
        if own:
            buffers.release(keep=(WORKLOADS[name].dtype,))
        runners = [make_runner(s, buffers) for s in group]
        warm = [time_call(fn) for fn in runners]
        quota = [max(2, min(repeats, int(budget / max(w, 1e-9)))) for w in warm]
        times: list[list[float]] = [[] for _ in group]
        for round_ in range(repeats):
            for i, fn in enumerate(runners):
                if round_ < quota[i]:
                    times[i].append(time_call(fn))
        del runners
        for s, t in zip(group, times):
            results.append(Result(s, n, t))
            if progress is not None:
                r = results[-1]
                progress(f"{s.workload:<22} {s.library:<8} {s.path:<14} T{s.threads}: "
                         f"{r.rate / 1e9:7.3f} Gs/s (best of {len(t)}, spread {r.spread:.1%})")
    if own:
        buffers.release()
    return derive(results)


def parallel_capacity(threads: int = 2, size: int = 1 << 22, repeats: int = 5) -> float:
    """How much faster ``threads`` threads run a GIL-free numpy kernel than one.

    A figure near ``threads`` means the cores are free; near 1 means another
    process (or the hypervisor) is using them, so multi-thread rows of the
    same run understate the scaling.

    Parameters
    ----------
    threads : int
        Threads to compare with one.
    size : int
        Elements of the float64 array ``np.sin`` runs over.
    repeats : int
        Best-of-N.

    Returns
    -------
    float
        One-thread time / ``threads``-thread time.
    """
    x = np.linspace(0.0, 1.0, size)
    y = np.empty_like(x)
    step = -(-size // threads)
    pool = _pool(threads)

    def one() -> None:
        np.sin(x, out=y)

    def many() -> None:
        futures = [pool.submit(np.sin, x[i * step:(i + 1) * step], out=y[i * step:(i + 1) * step])
                   for i in range(threads)]
        for f in futures:
            f.result()
    one(), many()
    t1 = min(time_call(one) for _ in range(repeats))
    tn = min(time_call(many) for _ in range(repeats))
    return t1 / tn


# --------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------

def machine_info() -> dict:
    """CPU, core count, memory and library versions of this machine.

    Returns
    -------
    dict
        ``cpu``, ``cpus`` (``os.cpu_count``), ``affinity`` (CPUs this process
        may use), ``simd`` (the x86 vector flags of ``/proc/cpuinfo``),
        ``memory``, ``python``, ``platform``, ``numpy``, ``torch`` (or None),
        ``varinit``, ``kernels`` and ``active_kernel``.
    """
    cpu, flags, mem = platform.processor() or platform.machine(), "", ""
    family = model = ""
    hypervisor = False
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and cpu in ("", platform.processor(),
                                                   platform.machine()):
                    cpu = value.strip()
                elif key == "cpu family" and not family:
                    family = value.strip()
                elif key == "model" and not model:
                    model = value.strip()
                elif key == "flags" and not flags:
                    hypervisor = "hypervisor" in value.split()
                    wanted = ("avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl")
                    have = set(value.split())
                    flags = " ".join(x for x in wanted if x in have)
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    torch_version = _torch_version()
    affinity = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count())
    return {
        "cpu": cpu, "cpu_id": f"family {family}, model {model}" if family else "",
        "hypervisor": hypervisor, "cpus": os.cpu_count(), "affinity": affinity, "simd": flags,
        "memory": mem, "python": platform.python_version(),
        "platform": platform.platform(), "numpy": np.__version__, "torch": torch_version,
        "varinit": __version__, "kernels": _dispatch.available_kernels(),
        "active_kernel": _dispatch.active_kernel(),
    }


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None else format(x, spec)


def _rows(results: Sequence[Result]) -> list[list[str]]:
    out = []
    for r in results:
        s = r.spec
        out.append([s.workload, s.library, s.path, str(s.threads), f"{r.rate / 1e9:.3f}",
                    _fmt(r.ratio, ".2f") + ("" if r.ratio is None else "×"),
                    _fmt(r.ratio_median, ".2f") + ("" if r.ratio_median is None else "×"),
                    _fmt(r.of_memset, ".0%"), f"{r.spread:.1%}", str(len(r.times))])
    return out


HEADER = ["workload", "library", "path", "threads", "Gs/s", "ratio vs numpy",
          "ratio (medians)", "of buf.fill", "spread", "N"]


def text_table(results: Sequence[Result]) -> str:
    """Results as an aligned plain-text table (what ``python -m varinit bench`` prints).

    Parameters
    ----------
    results : sequence of Result
        From :func:`measure`.

    Returns
    -------
    str
        Header, rule and one line per result.
    """
    rows = [HEADER] + _rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    right = {3, 4, 5, 6, 7, 8, 9}
    lines = []
    for k, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i])
                 for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: Sequence[Result]) -> str:
    """Results as a Markdown table, with the timed call of each row.

    Parameters
    ----------
    results : sequence of Result
        From :func:`measure`.

    Returns
    -------
    str
        A GitHub-flavoured Markdown table.
    """
    header = HEADER[:4] + ["call"] + HEADER[4:]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r, row in zip(results, _rows(results)):
        call = "`" + r.spec.call.replace("|", "\\|") + "`"
        lines.append("| " + " | ".join(row[:4] + [call] + row[4:]) + " |")
    return "\n".join(lines)


def describe_run(n: int, repeats: int, info: dict, capacity: float | None) -> str:
    """One paragraph naming the machine and the method of a run.

    Parameters
    ----------
    n : int
        Elements per buffer.
    repeats : int
        Timed calls per row.
    info : dict
        From :func:`machine_info`.
    capacity : float or None
        From :func:`parallel_capacity`, if measured.

    Returns
    -------
    str
    """
    cap = "" if capacity is None else (
        f" Parallel capacity at start (2 threads vs 1 on a GIL-free numpy kernel): "
        f"{capacity:.2f}×.")
    return (f"{n:,} elements per buffer, best of {repeats} timed calls after 1 warm-up. "
            f"CPU: {info['cpu']}"
            + (f" ({info['cpu_id']}{', virtual machine' if info.get('hypervisor') else ''})"
               if info.get("cpu_id") else "")
            + f", {info['affinity']} of {info['cpus']} logical CPUs usable, "
            f"SIMD flags: {info['simd'] or 'none found'}, memory {info['memory'] or '?'}. "
            f"Python {info['python']}, numpy {info['numpy']}, "
            f"torch {info['torch'] or 'not installed'}, varinit {info['varinit']} "
            f"(kernels: {', '.join(info['kernels'])}; default {info['active_kernel']}).{cap}")


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

def _size(text: str) -> int:
    text = text.strip().replace("^", "**")
    if "**" in text:
        base, _, exp = text.partition("**")
        value = int(base) ** int(exp)
    else:
        value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("size must be at least 1")
    return value


def _int_list(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("thread counts must be at least 1")
    return values


def _name_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def build_parser(prog: str = "python -m varinit bench") -> argparse.ArgumentParser:
    """The argument parser of ``python -m varinit bench`` (shared with ``bench/report.py``).

    Parameters
    ----------
    prog : str
        Program name shown in the usage line.

    Returns
    -------
    argparse.ArgumentParser
    """
    p = argparse.ArgumentParser(
        prog=prog,
        description="Time varinit's fills beside numpy's Generator (and torch, if installed) "
                    "on a preallocated, pre-touched buffer; print samples/s and ratios.")
    p.add_argument("--size", type=_size, default=DEFAULT_SIZE,
                   help="elements per buffer, e.g. 67108864 or 2**26 (default 2**26; "
                        "float64 workloads use a buffer of twice the bytes)")
    p.add_argument("--threads", type=_int_list, default=None,
                   help="thread counts, comma-separated (default: 1 and all available)")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                   help="timed calls per row after one warm-up; best-of-N (default %(default)s)")
    p.add_argument("--kernels", type=_name_list, default=None,
                   help="varinit kernel paths, comma-separated (default: every path this CPU "
                        f"runs: {', '.join(_dispatch.available_kernels())})")
    p.add_argument("--workloads", type=_name_list, default=None,
                   help="workloads, comma-separated (default all: " + ", ".join(WORKLOADS) + ")")
    p.add_argument("--no-torch", action="store_true", help="skip torch even if it is installed")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def run_bench(argv: list[str]) -> int:
    """Run ``python -m varinit bench`` with command-line arguments ``argv``.

    Times uniform, normal and truncated-normal fills (float32 and float64),
    ``buf.fill`` and a new-array case, with every varinit kernel path this CPU
    runs, numpy's ``Generator`` and torch (when installed), at one thread and
    at all threads, and prints a table of samples/s and ratios to numpy
    measured in the same run.

    Parameters
    ----------
    argv : list of str
        Arguments after ``bench``: ``--size``, ``--threads``, ``--repeats``,
        ``--kernels``, ``--workloads``, ``--no-torch``, ``--markdown``,
        ``--quiet`` (``--help`` lists them).

    Returns
    -------
    int
        Process exit status: 0 on success, 2 for bad arguments.

    Examples
    --------
    >>> from varinit._bench import run_bench
    >>> run_bench(["--size", "65536", "--repeats", "2", "--workloads", "uniform f32",
    ...            "--no-torch", "--quiet"])  # doctest: +SKIP
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.repeats < 1:
        print("varinit bench: --repeats must be at least 1", file=sys.stderr)
        return 2
    known = _dispatch.available_kernels()
    if args.kernels is not None:
        bad = [k for k in args.kernels if k not in known]
        if bad:
            print(f"varinit bench: kernel(s) {', '.join(bad)} not available here; "
                  f"available: {', '.join(known)}", file=sys.stderr)
            return 2
    try:
        rows = specs(args.threads, args.kernels, False if args.no_torch else None,
                     args.workloads)
    except ValueError as exc:
        print(f"varinit bench: {exc}", file=sys.stderr)
        return 2
    if not rows:
        print("varinit bench: no workloads to run (--workloads names none); known: "
              + ", ".join(WORKLOADS), file=sys.stderr)
        return 2
    info = machine_info()
    threads = sorted({s.threads for s in rows})
    try:
        capacity = parallel_capacity(max(threads)) if max(threads) > 1 else None
    finally:
        _shutdown_pools()
    print("varinit bench: " + describe_run(args.size, args.repeats, info, capacity))
    progress = None if args.quiet else (lambda line: print("  " + line, file=sys.stderr,
                                                            flush=True))
    results = measure(rows, args.size, args.repeats, progress=progress)   # shuts its pools
    print()
    print(markdown_table(results) if args.markdown else text_table(results))
    print("\nratio = the baseline's best time / this row's best time, same workload, same run "
          "(> 1: faster); the baseline is numpy's Generator with the same threads "
          "(new array: np.empty + fill); spread = median / best - 1.")
    return 0
