"""varinit vs numpy's Generator (and torch) on a preallocated, warm buffer.

One test per row of :func:`varinit._bench.specs`; the timed call is the same
one ``bench/report.py`` and ``python -m varinit bench`` time.  These are
benchmarks, not tests: nothing here asserts a speed.
"""
from __future__ import annotations

import pytest

from varinit import _bench


def _baseline_spec(spec: _bench.Spec) -> _bench.Spec | None:
    """The row ``spec`` is compared with (same workload, same threads if any)."""
    kind = _bench.WORKLOADS[spec.workload].kind
    if kind == "memset":
        return None
    if kind == "new":
        return _bench.Spec(spec.workload, "numpy", "np.empty+fill", 1)
    return _bench.Spec(spec.workload, "numpy", "Generator", spec.threads)


def _memset_spec(spec: _bench.Spec) -> _bench.Spec:
    dtype = _bench.WORKLOADS[spec.workload].dtype
    name = "buf.fill f32" if dtype == "float32" else "buf.fill f64"
    return _bench.Spec(name, "numpy", "buf.fill", 1)


def test_fill(spec, benchmark, buffers, bench_rounds, reference):
    """Time one row; record samples/s and the same-session ratio to numpy."""
    if spec.library == "torch":
        pytest.importorskip("torch")
    fn = _bench.make_runner(spec, buffers)
    benchmark.group = spec.workload
    benchmark.pedantic(fn, rounds=bench_rounds, iterations=1, warmup_rounds=1)
    stats = benchmark.stats.stats
    result = _bench.Result(spec, buffers.n, list(stats.data))
    if spec.is_baseline or spec.path == "buf.fill":
        reference.store(result)
    base_spec = _baseline_spec(spec)
    if base_spec is not None:
        base = reference.get(base_spec)
        result.ratio = base.best / result.best
        result.ratio_median = base.median / result.median
        result.baseline = f"{base_spec.library} {base_spec.path} T{base_spec.threads}"
    result.of_memset = result.rate / reference.get(_memset_spec(spec)).rate
    info = result.as_dict()
    del info["times_s"]
    info["gsamples_per_s"] = result.rate / 1e9
    benchmark.extra_info.update(info)
