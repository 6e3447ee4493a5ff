"""varinit.jax against jax.nn.initializers and flax's own init, ratios measured in the same run.

    python -m pytest bench/test_bench_jax.py                 # a few minutes on 2 cores
    VARINIT_BENCH_JAX_REPORT=bench/results/jax.md python -m pytest bench/test_bench_jax.py
    VARINIT_BENCH_JAX_ROWS=10000000 python -m pytest bench/test_bench_jax.py -k model

Options are environment variables (bench/conftest.py is shared and left alone):
``VARINIT_BENCH_JAX_ROWS`` (embedding rows, default 3,000,000), ``VARINIT_BENCH_JAX_LAYERS``
(dense 4096×4096 layers, default 4), ``VARINIT_BENCH_JAX_ROUNDS`` (timed rounds, default 3),
``VARINIT_BENCH_JAX_REPORT`` (write the markdown table there).

Two measurements, each eagerly and under ``jax.jit`` (compilation is in the
untimed warm-up round):

* **initializers**: ``init(key, (8192, 4096), dtype)`` for ``varinit.jax.<name>(...)``
  and ``jax.nn.initializers.<name>(...)`` with the same arguments, result
  blocked on (``block_until_ready``) and dropped;
* **model**: ``model.init(key, x)`` of a flax ``linen`` model, an ``nn.Embed(rows,
  128)`` and ``layers`` × ``nn.Dense(4096)``, with flax's defaults (embedding
  ``variance_scaling(1, "fan_in", "normal", out_axis=0)``, kernels
  ``lecun_normal()``, biases zeros) against the same model whose initializers
  are varinit.jax's.  The default 3M rows (1.5 GiB float32) keep the run's
  peak below 8 GiB: JAX's own init of a ``(rows, 128)`` table peaks at about
  3.8 times the table (7.7 GiB above the process's baseline for 4M rows, eager
  or jitted), so a 10M-row table needs about 19 GiB for JAX's side alone.
  varinit's peaks at 1× the table eagerly and 2× under ``jit`` (the host array
  and XLA's copy).

Every round runs JAX's call, then varinit's, so a burst of load from another
process hits both alike; varinit's call is the one pytest-benchmark times, JAX's
is timed with ``time.perf_counter`` in its setup.  Times are best of the rounds
after one warm-up round; *ratio* = JAX's best time / varinit's best time.  XLA
and varinit use every core.  Benchmarks, not tests: nothing asserts a speed.
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

jax = pytest.importorskip("jax")
nn = pytest.importorskip("flax.linen")

import jax.numpy as jnp  # noqa: E402

import varinit.jax as vj  # noqa: E402
from varinit import benchmarks  # noqa: E402

JI = jax.nn.initializers
SHAPE = (8192, 4096)
ROWS = int(os.environ.get("VARINIT_BENCH_JAX_ROWS", 3_000_000))
LAYERS = int(os.environ.get("VARINIT_BENCH_JAX_LAYERS", 4))
ROUNDS = int(os.environ.get("VARINIT_BENCH_JAX_ROUNDS", 3))
WIDTH, DIM = 4096, 128
#: (id, factory taking the module, dtypes): the same call for both libraries.
OPERATIONS = [
    ("truncated_normal(0.02)", lambda m: m.truncated_normal(0.02), ("float32", "bfloat16")),
    ("lecun_normal()", lambda m: m.lecun_normal(), ("float32", "bfloat16")),
    ("he_normal()", lambda m: m.he_normal(), ("float32",)),
    ("glorot_normal()", lambda m: m.glorot_normal(), ("float32",)),
    ("normal(0.02)", lambda m: m.normal(0.02), ("float32", "bfloat16")),
    ("variance_scaling(1, fan_in, normal, out_axis=0)",
     lambda m: m.variance_scaling(1.0, "fan_in", "normal", out_axis=0), ("float32",)),
    ("uniform(0.05)", lambda m: m.uniform(0.05), ("float32",)),
    ("glorot_uniform()", lambda m: m.glorot_uniform(), ("float32",)),
    ("he_uniform()", lambda m: m.he_uniform(), ("float32",)),
]
CASES = [pytest.param(op, factory, dtype, mode, id=f"{op}-{dtype}-{mode}")
         for op, factory, dtypes in OPERATIONS for dtype in dtypes for mode in ("eager", "jit")]
RESULTS: list[dict] = []


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def _compare(benchmark, reference: Callable[[], object],
             target: Callable[[], object]) -> tuple[list[float], list[float]] | None:
    """Rounds of JAX then varinit; their times after one warm-up round."""
    jax_times: list[float] = []

    def setup():
        gc.collect()
        jax_times.append(_timed(reference))         # its output is dropped on return

    def run():
        jax.block_until_ready(target())             # returns None: nothing is kept

    benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1, warmup_rounds=1)
    gc.collect()
    if benchmark.disabled:
        return None
    return jax_times[1:], list(benchmark.stats.stats.data)


def _record(benchmark, kind: str, operation: str, dtype: str, mode: str, nbytes: int,
            times: tuple[list[float], list[float]] | None) -> None:
    if times is None:
        return
    jax_times, varinit_times = times
    j, v = min(jax_times), min(varinit_times)
    row = dict(kind=kind, operation=operation, dtype=dtype, mode=mode, bytes=nbytes,
               rounds=len(varinit_times), jax_s=j, varinit_s=v, ratio=j / v,
               ratio_median=statistics.median(jax_times) / statistics.median(varinit_times),
               varinit_gbps=nbytes / v / 1e9, jax_gbps=nbytes / j / 1e9)
    benchmark.extra_info.update(row)
    RESULTS.append(row)


# ---------------------------------------------------------------------------
# 1. One initializer, one array
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("operation, factory, dtype, mode", CASES)
def test_initializer(benchmark, operation, factory, dtype, mode):
    ours, theirs = factory(vj), factory(JI)
    key = jax.random.key(0)
    if mode == "jit":
        ours_fn = jax.jit(lambda k: ours(k, SHAPE, dtype))
        theirs_fn = jax.jit(lambda k: theirs(k, SHAPE, dtype))
    else:
        ours_fn = lambda k: ours(k, SHAPE, dtype)          # noqa: E731
        theirs_fn = lambda k: theirs(k, SHAPE, dtype)      # noqa: E731
    benchmark.group = f"jax-{operation}-{dtype}-{mode}"
    times = _compare(benchmark, lambda: theirs_fn(key), lambda: ours_fn(key))
    nbytes = SHAPE[0] * SHAPE[1] * jnp.dtype(dtype).itemsize
    _record(benchmark, "initializer", f"`{operation}` {SHAPE}", dtype, mode, nbytes, times)


# ---------------------------------------------------------------------------
# 2. flax model.init
# ---------------------------------------------------------------------------

class Model(nn.Module):
    """An embedding table and a stack of dense layers; initializers as flax's defaults."""
    rows: int
    layers: int
    embedding_init: Callable = nn.initializers.variance_scaling(1.0, "fan_in", "normal",
                                                                out_axis=0)
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, ids):
        x = nn.Embed(self.rows, DIM, embedding_init=self.embedding_init)(ids)
        x = nn.Dense(WIDTH, kernel_init=self.kernel_init, bias_init=self.bias_init)(x)
        for _ in range(self.layers - 1):
            x = nn.Dense(WIDTH, kernel_init=self.kernel_init, bias_init=self.bias_init)(x)
        return x


@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_model_init(benchmark, mode):
    flax_model = Model(ROWS, LAYERS)
    ours = Model(ROWS, LAYERS, embedding_init=vj.variance_scaling(1.0, "fan_in", "normal",
                                                                  out_axis=0),
                 kernel_init=vj.lecun_normal(), bias_init=vj.zeros)
    ids = jnp.zeros((1,), jnp.int32)
    key = jax.random.key(0)
    theirs_fn = jax.jit(flax_model.init) if mode == "jit" else flax_model.init
    ours_fn = jax.jit(ours.init) if mode == "jit" else ours.init
    params = ROWS * DIM + DIM * WIDTH + (LAYERS - 1) * WIDTH * WIDTH + LAYERS * WIDTH
    benchmark.group = f"jax-model-init-{mode}"
    times = _compare(benchmark, lambda: theirs_fn(key, ids), lambda: ours_fn(key, ids))
    operation = (f"flax `model.init`: Embed({ROWS:,}, {DIM}) + {LAYERS}× Dense({WIDTH}), "
                 f"{params / 1e9:.2f} B parameters")
    _record(benchmark, "model", operation, "float32", mode, params * 4, times)


def test_model_memset(benchmark):
    """What fresh memory costs right after JAX's init: ``np.ones`` of the model's bytes.

    Rounds of flax's own eager ``model.init`` (untimed here) then a new
    ``np.ones`` of as many float32 elements as the model has parameters: on a
    VM the pages JAX just released can cost far more to touch again than a
    warm allocation, and varinit's call in :func:`test_model_init` runs in
    exactly that position.
    """
    import numpy as np

    flax_model = Model(ROWS, LAYERS)
    ids = jnp.zeros((1,), jnp.int32)
    key = jax.random.key(0)
    params = ROWS * DIM + DIM * WIDTH + (LAYERS - 1) * WIDTH * WIDTH + LAYERS * WIDTH
    benchmark.group = "jax-model-init-memset"
    times = _compare(benchmark, lambda: flax_model.init(key, ids),
                     lambda: np.ones(params, np.float32))
    _record(benchmark, "memset", f"memset after flax's `model.init`: new `np.ones` of "
            f"{params * 4 / 2**30:.2f} GiB", "float32", "eager", params * 4, times)


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

def report() -> str:
    """The markdown table of this session's rows."""
    info = benchmarks.machine_info()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB -> GiB
    cpu_id = f" ({info['cpu_id']})" if info["cpu_id"] else ""
    import flax
    lines = [
        "# varinit.jax vs jax.nn.initializers and flax", "",
        f"Measured {date} with `python -m pytest bench/test_bench_jax.py`.", "",
        f"Machine: {info['cpu']}{cpu_id}{', virtual machine' if info['hypervisor'] else ''}, "
        f"{info['affinity']} of {info['cpus']} logical CPUs usable, memory {info['memory']}; "
        f"Python {info['python']}, jax {jax.__version__}, flax {flax.__version__}, numpy "
        f"{info['numpy']}, varinit {info['varinit']} (kernel {info['active_kernel']}). Peak "
        f"resident memory of the run: {peak:.1f} GiB.", "",
        f"Best of {ROUNDS} rounds after one warm-up round (which compiles the jitted "
        "functions); each round runs JAX's call, then varinit's. *ratio* = JAX's best time ÷ "
        "varinit's best time (> 1: varinit faster); *(medians)* the same with medians; GB/s = "
        "bytes of the result ÷ varinit's best time. *jit*: the call inside `jax.jit` (varinit "
        "generates on the host through `jax.pure_callback`, and XLA copies the result into "
        "its own buffer).", "",
        "The memset row times a new `np.ones` of the model's bytes (in the varinit column) "
        "right after flax's own eager `model.init`, the position varinit's model call runs "
        "in: on this VM, memory JAX has just released is slow to touch again.", "",
        "| operation | dtype | mode | JAX s | varinit s | ratio | ratio (medians) | GB/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in RESULTS:
        lines.append(f"| {r['operation']} | {r['dtype']} | {r['mode']} | {r['jax_s']:.4f} | "
                     f"{r['varinit_s']:.4f} | {r['ratio']:.2f}× | {r['ratio_median']:.2f}× | "
                     f"{r['varinit_gbps']:.2f} |")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module", autouse=True)
def _write_report():
    yield
    path = os.environ.get("VARINIT_BENCH_JAX_REPORT")
    if path and RESULTS:
        with open(path, "w", encoding="utf-8") as f:
            f.write(report())
