"""The no-argument demo: varinit vs numpy on an 8192x8192 float32 buffer."""
from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from . import _fill
from ._threads import get_num_threads
from . import _dispatch


def _best_time(fn: Callable[[], object], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _numpy_truncated_normal(rng: np.random.Generator, buf: np.ndarray, stddev: float) -> None:
    """numpy's usual recipe: draw normals, redraw those beyond 2 sigma."""
    flat = buf.reshape(-1)
    rng.standard_normal(dtype=np.float32, out=flat)
    bad = np.flatnonzero(np.abs(flat) > 2.0)
    while bad.size:
        redraw = rng.standard_normal(bad.size, dtype=np.float32)
        flat[bad] = redraw
        bad = bad[np.abs(redraw) > 2.0]
    flat *= stddev


def run_demo(side: int = 8192, repeats: int = 3) -> None:
    """Fill a ``side x side`` float32 buffer with Glorot-uniform and
    truncated-normal values, with varinit and with numpy, and print samples/s."""
    fan = 2 * side
    limit = math.sqrt(6.0 / fan)
    stddev = math.sqrt(2.0 / fan) / 0.87962566103423978
    buf = np.empty((side, side), np.float32)
    buf.fill(0.0)                          # fault the pages in before timing
    rng = np.random.default_rng(0)

    def numpy_uniform() -> None:
        rng.random(dtype=np.float32, out=buf)
        np.multiply(buf, 2 * limit, out=buf)
        np.subtract(buf, limit, out=buf)

    rows = [
        ("glorot_uniform U(±%.5f)" % limit,
         lambda: _fill.fill_uniform(buf, -limit, limit, seed=0), numpy_uniform),
        ("truncated_normal ±2σ",
         lambda: _fill.fill_truncated_normal(buf, 0.0, stddev, seed=0),
         lambda: _numpy_truncated_normal(rng, buf, stddev)),
    ]
    n = buf.size
    print(f"varinit demo: {side}x{side} float32 ({n * 4 / 2**20:.0f} MiB), "
          f"kernel={_dispatch.active_kernel()}, threads={get_num_threads()}, best of {repeats}")
    print(f"{'workload':<28} {'varinit Gs/s':>12} {'numpy Gs/s':>11} {'ratio':>7}")
    for name, ours, theirs in rows:
        t_ours = _best_time(ours, repeats)
        t_numpy = _best_time(theirs, repeats)
        print(f"{name:<28} {n / t_ours / 1e9:>12.3f} {n / t_numpy / 1e9:>11.3f} "
              f"{t_numpy / t_ours:>6.1f}x")
