"""varinit vs numpy's Generator (and torch) on a preallocated, warm buffer.

One test per row of :func:`varinit.benchmarks.specs`; the timed call is the same
one ``bench/report.py`` and ``python -m varinit bench`` time.  These are
benchmarks, not tests: nothing here asserts a speed.
"""
from __future__ import annotations

import pytest

from varinit import benchmarks


def test_fill(spec, benchmark, buffers, bench_rounds, reference):
    """Time one row; record samples/s and the same-session ratio to numpy."""
    if spec.library == "torch":
        pytest.importorskip("torch")
    fn = benchmarks.make_runner(spec, buffers)
    benchmark.group = spec.workload
    benchmark.pedantic(fn, rounds=bench_rounds, iterations=1, warmup_rounds=1)
    if benchmark.disabled:          # --benchmark-disable: ran once, nothing to record
        return
    stats = benchmark.stats.stats
    result = benchmarks.Result(spec, buffers.n, list(stats.data))
    if spec.is_baseline or spec.path == "buf.fill":
        reference.store(result)
    # ratios as in every other report: benchmarks.derive over this row and its references
    refs = [reference.get(s) for s in benchmarks.reference_specs(spec) if s != spec]
    benchmarks.derive([result, *refs])
    info = result.as_dict()
    del info["times_s"]
    info["gsamples_per_s"] = result.rate / 1e9
    benchmark.extra_info.update(info)
