"""Timing: one call, a run of rows in interleaved rounds, the ratios derived
from it, and how much parallel capacity the machine has at the moment."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import runners
from .runners import Buffers, make_runner, split
from .workloads import WORKLOADS, Spec

DEFAULT_SIZE = 1 << 26
DEFAULT_REPEATS = 5


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


# --------------------------------------------------------------------------
# Derived figures
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------

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

    Raises
    ------
    ValueError
        If ``n`` or ``repeats`` is below 1, or ``buffers`` holds another size.
    """
    if n < 1 or repeats < 1:
        raise ValueError("n and repeats must be at least 1")
    if buffers is not None and buffers.n != n:
        raise ValueError(f"buffers hold {buffers.n} elements, not n={n}")
    try:
        return _measure(rows, n, repeats, budget, progress, buffers)
    finally:
        runners.release()


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
        calls = [make_runner(s, buffers) for s in group]
        warm = [time_call(fn) for fn in calls]
        quota = [max(2, min(repeats, int(budget / max(w, 1e-9)))) for w in warm]
        times: list[list[float]] = [[] for _ in group]
        for round_ in range(repeats):
            for i, fn in enumerate(calls):
                if round_ < quota[i]:
                    times[i].append(time_call(fn))
        del calls
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
    pairs = list(zip(split(x, threads), split(y, threads)))
    # A pool of its own, shut down on return: nothing is left running.
    with ThreadPoolExecutor(threads, thread_name_prefix="bench-capacity") as pool:
        def one() -> None:
            np.sin(x, out=y)

        def many() -> None:
            for f in [pool.submit(np.sin, xs, out=ys) for xs, ys in pairs]:
                f.result()
        one(), many()
        t1 = min(time_call(one) for _ in range(repeats))
        tn = min(time_call(many) for _ in range(repeats))
    return t1 / tn
