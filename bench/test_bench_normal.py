"""The normal family against its own references, ratios measured in one run.

    python -m pytest bench/test_bench_normal.py            # about two minutes
    python -m pytest bench/test_bench_normal.py --normal-report bench/results/normal.md

Three measurements, each a ratio of best times of two calls timed
alternately in the same test (so a noisy machine moves both):

* **memory**: 2**26 pre-touched elements, ``fill_normal`` and
  ``fill_truncated_normal`` (mean ± 2σ) against ``buf.fill`` split over the
  same number of threads: *time / memset time* (1.00 = store bandwidth);
* **in cache**: 2**16 float32 elements filled 64 times, against
  ``fill_uniform`` on the same path: *rate / uniform rate*;
* **intervals**: 2**22 float32 elements, truncation intervals of every
  kernel of docs/stream.md 5.5 against mean ± 2σ on the same path:
  *rate / ±2σ rate*.

Every varinit kernel path this CPU runs is measured.  Nothing asserts a
speed; ``--normal-report`` writes the table README and docs/benchmarks.md
quote.
"""
from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import varinit

PATHS = varinit.runtime_info()["kernels_available"]
ROUNDS = 9
INTERVALS = {                      # name: (low, high) for N(0, 1)
    "[-1σ, 1σ]": (-1.0, 1.0),
    "[-0.3σ, 0.25σ]": (-0.3, 0.25),
    "[0.3σ, 0.4σ]": (0.3, 0.4),
    "[1σ, 1σ + 1e-6σ]": (1.0, 1.0 + 1e-6),
    "[1σ, 2σ]": (1.0, 2.0),
    "[3σ, ∞)": (3.0, math.inf),
    "[8σ, 9σ]": (8.0, 9.0),
    "(-∞, -30σ]": (-math.inf, -30.0),
}
RESULTS: list[dict] = []


def _best_pair(target, reference, rounds=ROUNDS):
    """Best times of target and reference, called alternately."""
    target(), reference()                          # warm up (and touch pages)
    best_t = best_r = math.inf
    for _ in range(rounds):
        t0 = time.perf_counter()
        reference()
        t1 = time.perf_counter()
        target()
        t2 = time.perf_counter()
        best_r, best_t = min(best_r, t1 - t0), min(best_t, t2 - t1)
    return best_t, best_r


def _on(path, threads, fn, *args, **kwargs):
    def call():
        with varinit.use_kernel(path), varinit.num_threads(threads):
            return fn(*args, **kwargs)
    return call


def _memset(buf, threads, pool):
    if threads == 1:
        return lambda: buf.fill(0.5)
    parts = np.array_split(buf, threads)
    return lambda: list(pool.map(lambda p: p.fill(0.5), parts))


@pytest.fixture(scope="module")
def pool():
    with ThreadPoolExecutor(2) as p:
        yield p


@pytest.fixture(scope="module")
def big():
    bufs = {dt: np.ones(1 << 26, dt) for dt in ("float32", "float64")}
    yield bufs
    bufs.clear()


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dist", ["normal", "truncated_normal"])
def test_memory(benchmark, big, pool, dist, dtype, path, threads):
    buf = big[dtype]
    fill = getattr(varinit, f"fill_{dist}")
    target = _on(path, threads, fill, buf, 0.0, 0.02, seed=1)
    t, r = _best_pair(target, _memset(buf, threads, pool), rounds=5)
    benchmark.pedantic(target, rounds=2, iterations=1)
    row = dict(kind="memory", dist=dist, dtype=dtype, path=path, threads=threads,
               gsps=buf.size / t / 1e9, memset_gbps=buf.nbytes / r / 1e9, ratio=t / r)
    benchmark.extra_info.update(row)
    RESULTS.append(row)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dist", ["normal", "truncated_normal"])
def test_in_cache(benchmark, dist, path):
    buf = np.ones(1 << 16, np.float32)
    fill = getattr(varinit, f"fill_{dist}")

    def repeat(fn, *args):
        call = _on(path, 1, fn, buf, *args, seed=1)
        return lambda: [call() for _ in range(64)]
    target, reference = repeat(fill, 0.0, 0.02), repeat(varinit.fill_uniform, -0.05, 0.05)
    t, r = _best_pair(target, reference)
    benchmark.pedantic(target, rounds=3, iterations=1)
    row = dict(kind="in cache", dist=dist, dtype="float32", path=path, threads=1,
               gsps=64 * buf.size / t / 1e9, uniform_gsps=64 * buf.size / r / 1e9, ratio=r / t)
    benchmark.extra_info.update(row)
    RESULTS.append(row)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("interval", list(INTERVALS))
def test_interval(benchmark, interval, path):
    buf = np.ones(1 << 22, np.float32)
    low, high = INTERVALS[interval]
    target = _on(path, 1, varinit.fill_truncated_normal, buf, 0.0, 1.0, low=low, high=high, seed=1)
    reference = _on(path, 1, varinit.fill_truncated_normal, buf, 0.0, 1.0, seed=1)
    t, r = _best_pair(target, reference)
    benchmark.pedantic(target, rounds=3, iterations=1)
    row = dict(kind="interval", dist=interval, dtype="float32", path=path, threads=1,
               gsps=buf.size / t / 1e9, ratio=r / t)
    benchmark.extra_info.update(row)
    RESULTS.append(row)


def report() -> str:
    """The markdown table of this session's rows."""
    cpu = varinit.runtime_info()["cpu_features"]
    lines = [f"Machine: {_cpu_name()}; varinit paths {', '.join(PATHS)} (CPU features: {cpu}).", ""]
    memory = [r for r in RESULTS if r["kind"] == "memory"]
    if memory:
        lines += ["**Memory** (2^26 pre-touched elements): time ÷ `buf.fill` time with the same "
                  "threads (1.00× = store bandwidth).", "",
                  "| fill | dtype | path | threads | Gs/s | memset GB/s | time ÷ memset |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {r['dist']} | {r['dtype']} | {r['path']} | {r['threads']} | {r['gsps']:.2f} | "
                  f"{r['memset_gbps']:.1f} | {r['ratio']:.2f}× |" for r in memory]
        lines.append("")
    cache = [r for r in RESULTS if r["kind"] == "in cache"]
    if cache:
        lines += ["**In cache** (2^16 float32 elements, 64 fills): rate ÷ `fill_uniform` rate "
                  "on the same path.", "",
                  "| fill | path | Gs/s | uniform Gs/s | ÷ uniform |", "|---|---|---|---|---|"]
        lines += [f"| {r['dist']} | {r['path']} | {r['gsps']:.2f} | {r['uniform_gsps']:.2f} | "
                  f"{r['ratio']:.2f} |" for r in cache]
        lines.append("")
    intervals = [r for r in RESULTS if r["kind"] == "interval"]
    if intervals:
        lines += ["**Truncation intervals** (2^22 float32, N(0, 1)): rate ÷ the ±2σ rate on the "
                  "same path.", "", "| interval | path | Gs/s | ÷ ±2σ |", "|---|---|---|---|"]
        lines += [f"| {r['dist']} | {r['path']} | {r['gsps']:.2f} | {r['ratio']:.2f} |"
                  for r in intervals]
    return "\n".join(lines) + "\n"


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()
