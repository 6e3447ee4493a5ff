"""Keras ``build`` of a model: varinit.keras initializers against Keras's own.

    python -m pytest bench/test_bench_keras.py                      # jax (default backend)
    KERAS_BACKEND=torch python -m pytest bench/test_bench_keras.py
    KERAS_BACKEND=numpy VARINIT_KERAS_BENCH_SCALE=0.05 python -m pytest bench/test_bench_keras.py
    VARINIT_KERAS_BENCH_REPORT=/tmp/keras-{backend}.md python -m pytest bench/test_bench_keras.py

Keras fixes its backend at import, so one run measures one backend
(``KERAS_BACKEND``, default ``jax`` here); run the file once per backend.
Settings are environment variables (this file adds no pytest options):

* ``VARINIT_KERAS_BENCH_SCALE`` (default 0.1): the embedding has
  ``10_000_000 * scale`` rows of 128 (default 1M rows, 0.5 GiB float32);
  the three ``Dense(4096)`` layers on top (after a ``Dense(4096)`` from 128)
  do not scale.  Scale 1 is the 10M×128 table (5.1 GB): Keras's own
  truncated normal peaks at 8-9× the tensor on the torch and numpy backends
  (about 4× on jax; varinit 1×), so scale 1 needs ~45 GB; the default keeps
  the run under ~6 GiB.
* ``VARINIT_KERAS_BENCH_ROUNDS`` (default 3): timed rounds after one warm-up
  round (the warm-up compiles jax's random kernels for these shapes).
* ``VARINIT_KERAS_BENCH_REPORT``: write the markdown table to this path
  (``{backend}`` is replaced by the backend's name).

Each round builds the model (``model.build``, which creates and initialises
every variable, then waits for jax's asynchronous values) with Keras's
initializers, then with varinit.keras's, each from freshly constructed
layers; the previous round's models are freed first, so at most one model is
alive.  varinit's build is the call pytest-benchmark times; Keras's is timed
with ``time.perf_counter`` in its setup.  *ratio* = Keras's best time ÷
varinit's best time in the same run.  Benchmarks, not tests: nothing asserts
a speed (the targets are printed beside the ratios).
"""
from __future__ import annotations

import datetime
import gc
import os
import resource
import statistics
import time
from typing import Callable

import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")
keras = pytest.importorskip("keras")

import varinit  # noqa: E402
import varinit.keras as vk  # noqa: E402
from varinit import benchmarks  # noqa: E402

BACKEND = keras.backend.backend()
TABLE_ROWS, TABLE_DIM, WIDTH, WIDE_LAYERS = 10_000_000, 128, 4096, 3
SEQUENCE = 16
K = keras.initializers
#: (id, what, embedding and kernel initializer of Keras and of varinit.keras, target ratio)
CASES = [
    ("truncated_normal", "`TruncatedNormal(stddev=0.02)` everywhere",
     lambda: (K.TruncatedNormal(stddev=0.02, seed=1),) * 2,
     lambda: (vk.TruncatedNormal(stddev=0.02, seed=1),) * 2, 10.0),
    ("glorot_normal", "`GlorotNormal()` everywhere (truncated)",
     lambda: (K.GlorotNormal(seed=1),) * 2, lambda: (vk.GlorotNormal(seed=1),) * 2, 10.0),
    ("keras_defaults", "Keras's defaults: embedding `RandomUniform()`, kernels `GlorotUniform()`",
     lambda: (K.RandomUniform(seed=1), K.GlorotUniform(seed=1)),
     lambda: (vk.RandomUniform(seed=1), vk.GlorotUniform(seed=1)), 3.0),
    ("random_normal", "`RandomNormal(stddev=0.02)` everywhere",
     lambda: (K.RandomNormal(stddev=0.02, seed=1),) * 2,
     lambda: (vk.RandomNormal(stddev=0.02, seed=1),) * 2, 3.0),
]
RESULTS: list[dict] = []


def _settings() -> dict:
    scale = float(os.environ.get("VARINIT_KERAS_BENCH_SCALE", "0.1"))
    rounds = int(os.environ.get("VARINIT_KERAS_BENCH_ROUNDS", "3"))
    if not scale > 0 or rounds < 1:
        raise pytest.UsageError("VARINIT_KERAS_BENCH_SCALE must be > 0 and "
                                "VARINIT_KERAS_BENCH_ROUNDS >= 1")
    return {"scale": scale, "rounds": rounds, "rows": max(1, round(TABLE_ROWS * scale)),
            "load_at_start": os.getloadavg()[0]}


SETTINGS = _settings()


def _model(embedding_init, kernel_init, bias_init) -> keras.Model:
    """Layers constructed (nothing allocated yet): ``build`` creates the variables.

    Each layer gets its own initializer object (``clone()``), as separate
    layers usually do."""
    L = keras.layers
    layers = [L.Embedding(SETTINGS["rows"], TABLE_DIM, embeddings_initializer=embedding_init)]
    layers += [L.Dense(WIDTH, kernel_initializer=kernel_init.clone(),
                       bias_initializer=bias_init.clone()) for _ in range(WIDE_LAYERS + 1)]
    return keras.Sequential(layers)


def _build(model: keras.Model) -> None:
    model.build((None, SEQUENCE))
    if BACKEND == "jax":
        import jax
        jax.block_until_ready([w.value for w in model.weights])


def _parameters() -> tuple[int, int]:
    rows = SETTINGS["rows"]
    params = rows * TABLE_DIM + TABLE_DIM * WIDTH + WIDE_LAYERS * WIDTH * WIDTH + \
        (WIDE_LAYERS + 1) * WIDTH
    return params, params * 4


@pytest.mark.parametrize("case_id, what, keras_inits, varinit_inits, target", CASES,
                         ids=[c[0] for c in CASES])
def test_build(benchmark, case_id, what, keras_inits, varinit_inits, target):
    """``model.build`` with Keras's initializers against varinit.keras's."""
    keras_times: list[float] = []
    current: dict[str, Callable] = {}

    def setup():
        current.clear()                              # frees the previous varinit model
        gc.collect()
        model = _model(*keras_inits(), K.Zeros())
        start = time.perf_counter()
        _build(model)
        keras_times.append(time.perf_counter() - start)
        del model
        gc.collect()
        model = _model(*varinit_inits(), vk.Zeros())
        current["run"] = lambda: _build(model)

    def run():
        current["run"]()

    benchmark.group = f"keras-{BACKEND}-build"
    try:
        benchmark.pedantic(run, setup=setup, rounds=SETTINGS["rounds"], iterations=1,
                           warmup_rounds=1)
    finally:
        current.clear()
        gc.collect()
    if benchmark.disabled:
        return
    varinit_times = list(benchmark.stats.stats.data)
    keras_times = keras_times[1:]                    # drop the warm-up round
    params, nbytes = _parameters()
    k, v = min(keras_times), min(varinit_times)
    row = dict(case=case_id, what=what, backend=BACKEND, rows=SETTINGS["rows"],
               parameters=params, bytes=nbytes, rounds=len(varinit_times), keras_s=k,
               varinit_s=v, ratio=k / v,
               ratio_median=statistics.median(keras_times) / statistics.median(varinit_times),
               varinit_gbps=nbytes / v / 1e9, target=target)
    benchmark.extra_info.update(row)
    RESULTS.append(row)
    print(f"\n{BACKEND} {case_id}: Keras {k:.3f} s, varinit {v:.3f} s, ratio {k / v:.1f}× "
          f"(medians {row['ratio_median']:.1f}×; target ≥ {target:g}×)")


def report() -> str:
    info = benchmarks.machine_info()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB -> GiB
    params, nbytes = _parameters()
    cpu_id = f" ({info['cpu_id']})" if info["cpu_id"] else ""
    lines = [
        f"# varinit.keras vs Keras's own initializers: `model.build`, {BACKEND} backend", "",
        f"Measured {date}. Machine: {info['cpu']}{cpu_id}"
        f"{', virtual machine' if info['hypervisor'] else ''}, {info['affinity']} of "
        f"{info['cpus']} logical CPUs usable, memory {info['memory']}; Python "
        f"{info['python']}, Keras {keras.version()}, numpy {info['numpy']}, varinit "
        f"{info['varinit']} (kernel {info['active_kernel']}, {varinit.get_num_threads()} "
        f"threads). Peak resident memory of the run: {peak:.1f} GiB. Load average (1 min) "
        f"{SETTINGS['load_at_start']:.2f} at the start, {os.getloadavg()[0]:.2f} at the end.",
        "",
        f"Model: Embedding({SETTINGS['rows']:,}, {TABLE_DIM}), Dense({WIDTH}) from "
        f"{TABLE_DIM}, {WIDE_LAYERS}× Dense({WIDTH}) from {WIDTH}, zero biases: "
        f"{params / 1e6:.1f} M parameters, {nbytes / 1e9:.2f} GB float32 (scale "
        f"{SETTINGS['scale']:g}). Best of {SETTINGS['rounds']} rounds after one warm-up; each "
        "round builds Keras's model, then varinit's; ratio = Keras's best ÷ varinit's best "
        "(medians: the same with medians).", "",
        "| initializers | Keras s | varinit s | ratio | ratio (medians) | varinit GB/s | target |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in RESULTS:
        lines.append(f"| {r['what']} | {r['keras_s']:.3f} | {r['varinit_s']:.3f} | "
                     f"{r['ratio']:.1f}× | {r['ratio_median']:.1f}× | {r['varinit_gbps']:.2f} "
                     f"| ≥ {r['target']:g}× |")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module", autouse=True)
def _write_report():
    yield
    path = os.environ.get("VARINIT_KERAS_BENCH_REPORT")
    if path and RESULTS:
        with open(path.replace("{backend}", BACKEND), "w", encoding="utf-8") as f:
            f.write(report())
