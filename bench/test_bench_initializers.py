"""Initializer calls on typical layer shapes: varinit vs Keras (numpy backend) vs numpy.

Run with ``python -m pytest bench/test_bench_initializers.py``.  Every row
records samples/s and, for every row but ``varinit``, ``time_vs_varinit``
(this row's best time / the best time of ``init(shape)``, measured in the
same session; above 1 means varinit is faster) in ``benchmark.extra_info``.  Benchmarks, not tests: nothing asserts a speed.

Workloads (Keras layout):

* Dense 4096x4096, ``GlorotUniform`` (Keras's Dense default) and
  ``HeNormal`` (truncated normal);
* Embedding 1,000,000x128, ``RandomUniform(-0.05, 0.05)`` (Keras's
  Embedding default);
* Conv 3x3x256x256, ``HeNormal``.

Baselines: ``keras.initializers`` with ``KERAS_BACKEND=numpy`` (skipped if
keras is missing or was imported with another backend), and the plain numpy
recipes people write: ``rng.uniform(-L, L, shape).astype(float32)`` and,
for the truncated normal, the numpy recipe of ``varinit.benchmarks`` (float64
standard normals, redraw those beyond 2, scale, cast).  varinit rows time a
new array (``init(shape)``) and a preallocated, warm one (``init(out=buf)``).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Callable

os.environ.setdefault("KERAS_BACKEND", "numpy")

import numpy as np
import pytest

import varinit
from varinit import benchmarks
from varinit.initializers import TRUNCATED_STDDEV_FACTOR


@dataclass(frozen=True)
class Workload:
    name: str
    shape: tuple[int, ...]
    initializer: str          # varinit / keras class name
    rounds: int


WORKLOADS = [
    Workload("dense-glorot_uniform", (4096, 4096), "GlorotUniform", 5),
    Workload("dense-he_normal", (4096, 4096), "HeNormal", 5),
    Workload("embedding-uniform", (1_000_000, 128), "RandomUniform", 3),
    Workload("conv-he_normal", (3, 3, 256, 256), "HeNormal", 10),
]
LIBRARIES = ["varinit", "varinit-out", "keras-numpy", "numpy"]


def _keras_initializers():
    try:
        import keras
    except ImportError:
        return None
    if keras.backend.backend() != "numpy":
        return None
    return keras.initializers


def _numpy_recipe(workload: Workload) -> Callable[[], np.ndarray]:
    """What a numpy user writes for the same distribution (float64 draws, then a cast)."""
    shape = workload.shape
    fan_in, fan_out = varinit.compute_fans(shape)
    rng = np.random.default_rng(0)
    if workload.initializer == "GlorotUniform":
        limit = math.sqrt(6.0 / (fan_in + fan_out))
        return lambda: rng.uniform(-limit, limit, shape).astype(np.float32)
    if workload.initializer == "RandomUniform":
        return lambda: rng.uniform(-0.05, 0.05, shape).astype(np.float32)
    sigma = math.sqrt(2.0 / fan_in) / TRUNCATED_STDDEV_FACTOR

    def truncated() -> np.ndarray:
        draws = np.empty(shape)                     # float64, as rng.normal would give
        benchmarks.numpy_truncated_normal(rng, draws.reshape(-1), sigma)
        return draws.astype(np.float32)

    return truncated


def _runner(workload: Workload, library: str) -> Callable[[], object]:
    if library == "varinit":
        init = getattr(varinit, workload.initializer)(seed=0)
        return lambda: init(workload.shape)
    if library == "varinit-out":
        init = getattr(varinit, workload.initializer)(seed=0)
        buffer = init(workload.shape)                      # allocated and warm
        return lambda: init(out=buffer)
    if library == "keras-numpy":
        keras_initializers = _keras_initializers()
        if keras_initializers is None:
            pytest.skip("keras with the numpy backend is not available")
        init = getattr(keras_initializers, workload.initializer)(seed=0)
        return lambda: init(workload.shape, "float32")
    return _numpy_recipe(workload)


_best_varinit: dict[str, float] = {}


def _varinit_best(workload: Workload) -> float:
    """Best varinit time of this session (measured now if its row did not run)."""
    if workload.name not in _best_varinit:
        run = _runner(workload, "varinit")
        run()
        _best_varinit[workload.name] = min(benchmarks.time_call(run)
                                           for _ in range(workload.rounds))
    return _best_varinit[workload.name]


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("workload", WORKLOADS, ids=[w.name for w in WORKLOADS])
def test_initializer_call(workload, library, benchmark):
    """Time one initializer call; record samples/s and the ratio to varinit."""
    run = _runner(workload, library)
    benchmark.group = workload.name
    benchmark.pedantic(run, rounds=workload.rounds, iterations=1, warmup_rounds=1)
    if benchmark.disabled:          # --benchmark-disable: ran once, nothing to record
        return
    best = benchmark.stats.stats.min
    samples = math.prod(workload.shape)
    info = {"shape": list(workload.shape), "initializer": workload.initializer,
            "library": library, "threads": varinit.get_num_threads(),
            "kernel": varinit.runtime_info()["kernel"],
            "msamples_per_s": samples / best / 1e6}
    if library == "varinit":
        _best_varinit[workload.name] = best
    else:
        info["time_vs_varinit"] = best / _varinit_best(workload)
    benchmark.extra_info.update(info)


def test_rows_of_a_huge_table(benchmark):
    """rows(): 10**4 random ids of a 10**8 x 128 table (never materialized)."""
    init = varinit.RandomUniform(seed=0)
    shape = (10**8, 128)
    ids = np.random.default_rng(1).integers(0, shape[0], size=10**4)
    benchmark.group = "rows"
    benchmark.pedantic(lambda: init.rows(shape, ids), rounds=5, iterations=1, warmup_rounds=1)
    if benchmark.disabled:          # --benchmark-disable: ran once, nothing to record
        return
    best = benchmark.stats.stats.min
    benchmark.extra_info.update({"rows_per_s": ids.size / best,
                                 "msamples_per_s": ids.size * 128 / best / 1e6})
