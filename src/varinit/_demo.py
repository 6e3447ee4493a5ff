"""The no-argument demo: varinit vs numpy on a 4096x4096 float32 buffer.

A two-row view of ``python -m varinit bench``: Glorot-uniform values of an
8192x8192 kernel (U(±sqrt(6/16384))) and truncated-normal values, written by varinit and by
numpy's ``Generator`` into the same warm buffer, measured by the same code.
"""
from __future__ import annotations

import varinit
from varinit import benchmarks

SIDE = 4096   # 64 MiB: out of cache, yet small enough for a laptop


def run_demo(repeats: int = 3) -> None:
    """Time both fills with varinit and numpy and print samples/s and the ratio.

    Parameters
    ----------
    repeats : int, optional
        Timed calls per case (best of ``repeats``).
    """
    threads = varinit.get_num_threads()
    kernel = varinit.runtime_info()["kernel"]
    rows = benchmarks.specs(threads=[threads], kernels=[kernel], torch=False,
                            workloads=["uniform f32", "truncated normal f32"])
    results = benchmarks.measure(rows, n=SIDE * SIDE, repeats=repeats)
    print(f"varinit demo: {SIDE}x{SIDE} float32 ({SIDE * SIDE * 4 / 2**20:.0f} MiB), "
          f"kernel={kernel}, threads={threads}, best of {repeats}")
    print(f"{'workload':<34} {'varinit Gs/s':>12} {'numpy Gs/s':>11} {'ratio':>7}")
    by_workload = {}
    for r in results:
        by_workload.setdefault(r.spec.workload, {})[r.spec.library] = r
    limit = benchmarks.WORKLOADS["uniform f32"].params[1]
    labels = {"uniform f32": f"glorot_uniform U(±{limit:.5f})",
              "truncated normal f32": "truncated_normal ±2σ (glorot_normal)"}
    for name, pair in by_workload.items():
        ours, numpy = pair["varinit"], pair["numpy"]
        print(f"{labels[name]:<34} {ours.rate / 1e9:>12.3f} {numpy.rate / 1e9:>11.3f} "
              f"{ours.ratio:>6.1f}x")
