"""varinit.torch against torch.nn.init, ratios measured in the same run.

    python -m pytest bench/test_bench_torch.py                 # 4½ to 5½ minutes on 2 cores
    python -m pytest bench/test_bench_torch.py --torch-report bench/results/torch.md
    python -m pytest bench/test_bench_torch.py --torch-size 2**20 --torch-model-scale 0.01

Three measurements, each at one thread and at all threads (``--bench-threads``;
``torch.set_num_threads`` and ``varinit.num_threads`` get the same count):

* **tensors**: one preallocated, pre-touched tensor of ``--torch-size``
  elements (default 2**25, shaped ``(n // 4096, 4096)``), filled by
  ``varinit.torch.<name>(t, ..., seed=1)`` and by
  ``torch.nn.init.<name>(t, ...)`` with the same arguments;
* **model**: ``nn.Embedding(4_000_000, 128)`` and 24 ``nn.Linear(4096, 4096)``
  (0.91 B parameters, 3.7 GB float32; ``--torch-model-scale`` scales the rows
  and the layer count), built once on the meta device and allocated with
  ``to_empty``: ``vt.init_module_(model, seed=0)`` against what construction
  does, ``reset_parameters()`` of every module;
* **table**: a fresh ``nn.Embedding(10_000_000, 128)`` on the meta device
  (5.1 GB float32) each round: ``vt.materialize_(table, seed=0)`` against
  ``table.to_empty(device="cpu")`` + ``table.reset_parameters()``.  The
  previous round's table is freed before the next one is built, so at most
  one table is alive.

Every round calls the memset, then torch, then varinit, on the same memory
(for the table: a fresh table each), so a burst of load from another process
hits all three alike.  varinit's call is the one pytest-benchmark times; the
other two are timed with ``time.perf_counter`` in its setup.  Times are best
of ``--torch-rounds`` (tensors, default 5) or ``--torch-big-rounds`` (model
and table, default 3) after one warm-up round; *ratio vs torch* = torch's best
time / varinit's best time.  The table rows have no warm-up round (each
round allocates anew).  The memset is ``tensor.zero_()`` over the same
bytes with the same torch threads (model: every parameter; table: a fresh
table, ``to_empty`` + ``zero_()``, which pays the page faults a
materialisation pays).  Benchmarks, not tests: nothing asserts a speed.
"""
from __future__ import annotations

import contextlib
import datetime
import gc
import math
import os
import resource
import statistics
import time
from typing import Callable

import pytest

torch = pytest.importorskip("torch")

import varinit  # noqa: E402
import varinit.torch as vt  # noqa: E402
from varinit import benchmarks  # noqa: E402

nn = torch.nn
COLUMNS = 4096
MODEL_ROWS, MODEL_DIM, MODEL_LAYERS, MODEL_WIDTH = 4_000_000, 128, 24, 4096
TABLE_ROWS, TABLE_DIM = 10_000_000, 128
#: (test id, operation, function name, keyword arguments, dtypes): the same call for
#: both libraries.  The first row truncates at mean ± 2σ; the second keeps torch's
#: default bounds a=-2, b=2, which with std=0.02 are ±100σ (nothing is ever rejected).
OPERATIONS = [
    ("trunc_normal_2sigma", "trunc_normal_(std=0.02, a=-0.04, b=0.04)", "trunc_normal_",
     dict(mean=0.0, std=0.02, a=-0.04, b=0.04), ("float32", "bfloat16")),
    ("trunc_normal_default_bounds", "trunc_normal_(std=0.02)", "trunc_normal_",
     dict(std=0.02), ("float32", "bfloat16")),
    ("normal_", "normal_(std=0.02)", "normal_", dict(std=0.02), ("float32", "bfloat16")),
    ("uniform_", "uniform_(-0.05, 0.05)", "uniform_", dict(a=-0.05, b=0.05), ("float32",)),
    ("xavier_uniform_", "xavier_uniform_", "xavier_uniform_", {}, ("float32",)),
    ("xavier_normal_", "xavier_normal_", "xavier_normal_", {}, ("float32",)),
    ("kaiming_uniform_", "kaiming_uniform_", "kaiming_uniform_", {}, ("float32",)),
    ("kaiming_normal_", "kaiming_normal_", "kaiming_normal_", {}, ("float32",)),
]
CASES = [pytest.param(op, name, kwargs, dtype, id=f"{case_id}-{dtype}")
         for case_id, op, name, kwargs, dtypes in OPERATIONS for dtype in dtypes]
RESULTS: list[dict] = []
_SETTINGS: dict = {}


# ---------------------------------------------------------------------------
# Options and fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def settings(pytestconfig) -> dict:
    option = pytestconfig.getoption
    size = benchmarks.parse_size(option("--torch-size"))
    scale = option("--torch-model-scale")
    if not scale > 0:
        raise pytest.UsageError("--torch-model-scale must be positive")
    columns = math.gcd(size, COLUMNS)
    _SETTINGS.update(
        load_at_start=os.getloadavg()[0], shape=(size // columns, columns),
        rounds=option("--torch-rounds"),
        big_rounds=option("--torch-big-rounds"), scale=scale,
        model_rows=max(1, round(MODEL_ROWS * scale)),
        model_layers=max(1, round(MODEL_LAYERS * scale)),
        table_rows=max(1, round(TABLE_ROWS * scale)))
    return _SETTINGS


@pytest.fixture(scope="module")
def tensors(settings):
    """One warm tensor per dtype, shared by every tensor row."""
    made = {dtype: torch.empty(settings["shape"], dtype=getattr(torch, dtype))
            for dtype in ("float32", "bfloat16")}
    for t in made.values():
        t.zero_()                                   # touch every page before any timing
    yield made
    made.clear()


@contextlib.contextmanager
def _threads(n: int):
    """torch's and varinit's thread counts set to ``n``."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with varinit.num_threads(n):
            yield
    finally:
        torch.set_num_threads(before)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


Times = tuple[list[float], list[float], list[float]]


def _compare(benchmark, threads: int, rounds: int, memset: Callable, reference: Callable,
             target: Callable, warmup: int = 1) -> Times | None:
    """Rounds of memset, torch and varinit; their times after ``warmup`` rounds.

    Each argument is called without arguments before its round and returns
    the callable to time, so a round may build what it fills (untimed).
    Whatever a round allocated is dropped before the next round starts.
    """
    memset_times: list[float] = []
    torch_times: list[float] = []
    current: dict[str, Callable] = {}

    def setup():
        current.clear()                             # frees the previous round's varinit output
        gc.collect()
        memset_times.append(_timed(memset()))       # its output is freed on return
        torch_times.append(_timed(reference()))
        current["run"] = target()

    def run():
        current["run"]()                            # returns None: pytest-benchmark keeps nothing

    try:
        with _threads(threads):
            benchmark.pedantic(run, setup=setup, rounds=rounds, iterations=1,
                               warmup_rounds=warmup)
    finally:
        current.clear()
        gc.collect()
    if benchmark.disabled:                          # --benchmark-disable: ran once
        return None
    return memset_times[warmup:], torch_times[warmup:], list(benchmark.stats.stats.data)


def _record(benchmark, kind: str, operation: str, dtype: str, threads: int, nbytes: int,
            times: Times | None, **extra) -> None:
    if times is None:
        return
    memset_times, torch_times, varinit_times = times
    m, t, v = min(memset_times), min(torch_times), min(varinit_times)
    row = dict(kind=kind, operation=operation, dtype=dtype, threads=threads, bytes=nbytes,
               rounds=len(varinit_times), torch_s=t, varinit_s=v, memset_s=m,
               ratio=t / v,
               ratio_median=statistics.median(torch_times) / statistics.median(varinit_times),
               varinit_gbps=nbytes / v / 1e9, torch_gbps=nbytes / t / 1e9,
               memset_gbps=nbytes / m / 1e9, varinit_time_vs_memset=v / m, **extra)
    benchmark.extra_info.update(row)
    RESULTS.append(row)


# ---------------------------------------------------------------------------
# 1. torch.nn.init on one tensor
# ---------------------------------------------------------------------------

def test_memset(benchmark, tensors, torch_threads):
    """The memset row: ``tensor.zero_()`` of the float32 tensor."""
    t = tensors["float32"]
    benchmark.group = "torch-memset"
    with _threads(torch_threads):
        benchmark.pedantic(t.zero_, rounds=_SETTINGS["rounds"], iterations=1, warmup_rounds=1)
    if benchmark.disabled:
        return
    best = benchmark.stats.stats.min
    nbytes = t.numel() * t.element_size()
    row = dict(kind="memset", operation="memset: `tensor.zero_()`", dtype="float32",
               threads=torch_threads, bytes=nbytes, rounds=len(benchmark.stats.stats.data),
               memset_s=best, memset_gbps=nbytes / best / 1e9)
    benchmark.extra_info.update(row)
    RESULTS.append(row)


@pytest.mark.parametrize("operation, name, kwargs, dtype", CASES)
def test_init_function(benchmark, tensors, torch_threads, operation, name, kwargs, dtype):
    """``varinit.torch.<name>`` against ``torch.nn.init.<name>`` on the same tensor."""
    t = tensors[dtype]
    ours, theirs = getattr(vt, name), getattr(nn.init, name)
    benchmark.group = f"torch-{operation}-{dtype}"
    times = _compare(benchmark, torch_threads, _SETTINGS["rounds"],
                     lambda: t.zero_,
                     lambda: lambda: theirs(t, **kwargs),
                     lambda: lambda: ours(t, **kwargs, seed=1))
    _record(benchmark, "tensor", f"`{operation}` {tuple(t.shape)}", dtype, torch_threads,
            t.numel() * t.element_size(), times)


# ---------------------------------------------------------------------------
# 2. A whole model: init_module_ against reset_parameters()
# ---------------------------------------------------------------------------

def _model(rows: int, layers: int) -> nn.Module:
    with torch.device("meta"):
        model = nn.Sequential(nn.Embedding(rows, MODEL_DIM),
                              *[nn.Linear(MODEL_WIDTH, MODEL_WIDTH) for _ in range(layers)])
    return model


def _reset_parameters(model: nn.Module) -> None:
    """What construction does: every module's own ``reset_parameters()``."""
    for module in model.modules():
        if hasattr(module, "reset_parameters"):
            module.reset_parameters()


def _zero(model: nn.Module) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()


class TestModel:
    @pytest.fixture(scope="class")
    def model(self, settings):
        """Built once, allocated with ``to_empty`` and touched; freed after this class."""
        model = _model(settings["model_rows"], settings["model_layers"]).to_empty(device="cpu")
        _zero(model)
        yield model
        del model
        gc.collect()

    def test_init_module(self, benchmark, model, torch_threads):
        params = sum(p.numel() for p in model.parameters())
        nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
        benchmark.group = "torch-init_module_"
        times = _compare(benchmark, torch_threads, _SETTINGS["big_rounds"],
                         lambda: lambda: _zero(model),
                         lambda: lambda: _reset_parameters(model),
                         lambda: lambda: vt.init_module_(model, seed=0))
        rows = _SETTINGS["model_rows"]
        operation = (f"`init_module_` vs `reset_parameters()`: Embedding({rows:,}, {MODEL_DIM}) + "
                     f"{_SETTINGS['model_layers']}× Linear({MODEL_WIDTH}, "
                     f"{MODEL_WIDTH}), {params / 1e9:.2f} B parameters")
        _record(benchmark, "model", operation, "float32", torch_threads, nbytes, times,
                parameters=params)


# ---------------------------------------------------------------------------
# 3. A meta-device table: materialize_ against to_empty + reset_parameters()
# ---------------------------------------------------------------------------

def _meta_table() -> nn.Embedding:
    with torch.device("meta"):
        return nn.Embedding(_SETTINGS["table_rows"], TABLE_DIM)


def _allocate_and_zero() -> Callable[[], object]:
    table = _meta_table()

    def run():
        table.to_empty(device="cpu")
        with torch.no_grad():
            table.weight.zero_()
    return run


def _torch_materialize() -> Callable[[], object]:
    table = _meta_table()

    def run():
        table.to_empty(device="cpu")
        table.reset_parameters()
    return run


def _varinit_materialize() -> Callable[[], object]:
    table = _meta_table()
    return lambda: vt.materialize_(table, seed=0)


def test_materialize(benchmark, settings, torch_threads):
    rows = settings["table_rows"]
    nbytes = rows * TABLE_DIM * 4
    benchmark.group = "torch-materialize_"
    # every round allocates fresh memory: there is nothing to warm up
    times = _compare(benchmark, torch_threads, settings["big_rounds"],
                     _allocate_and_zero, _torch_materialize, _varinit_materialize, warmup=0)
    operation = (f"`materialize_` vs `to_empty` + `reset_parameters()`: meta "
                 f"Embedding({rows:,}, {TABLE_DIM})")
    _record(benchmark, "table", operation, "float32", torch_threads, nbytes, times)


# ---------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------

def report(command: str) -> str:
    """The markdown table of this session's rows."""
    info = benchmarks.machine_info()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB -> GiB
    cpu_id = f" ({info['cpu_id']})" if info["cpu_id"] else ""
    s = _SETTINGS
    lines = [
        "# varinit.torch vs torch.nn.init", "",
        f"Measured {date} with `{command}`.", "",
        f"Machine: {info['cpu']}{cpu_id}{', virtual machine' if info['hypervisor'] else ''}, "
        f"{info['affinity']} of {info['cpus']} logical CPUs usable, memory {info['memory']}; "
        f"Python {info['python']}, torch {info['torch']}, numpy {info['numpy']}, varinit "
        f"{info['varinit']} (kernel {info['active_kernel']}). Peak resident memory of the "
        f"run: {peak:.1f} GiB. Load average (1 min) {s['load_at_start']:.2f} at the start, "
        f"{os.getloadavg()[0]:.2f} at the end.", "",
        f"Tensors: {s['shape'][0]}×{s['shape'][1]}, preallocated and pre-touched, best of "
        f"{s['rounds']}; model and table best of {s['big_rounds']}; one warm-up round each "
        "(the table none: every round allocates anew). "
        "Every round calls the memset, torch, then varinit on the same memory (the table: a "
        "fresh meta table each, the previous one freed). *ratio vs torch* = torch's best time "
        "÷ varinit's best time in the same run (> 1: varinit faster); *(medians)* the same "
        "with medians; GB/s = bytes written ÷ varinit's best time; memset GB/s = the same "
        "bytes zeroed by `tensor.zero_()` with the same threads (table: `to_empty` + "
        "`zero_()` of a fresh table, page faults included). torch and varinit threads are "
        "set to the same count. `trunc_normal_(std=0.02)` keeps torch's default bounds "
        "a=-2, b=2 (±100σ: no value is ever rejected).", "",
        "| operation | dtype | threads | torch s | varinit s | ratio vs torch | ratio (medians) "
        "| GB/s | memset GB/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    # rows of one operation together, in the order they first ran, threads ascending
    first = {}
    for r in RESULTS:
        first.setdefault((r["operation"], r["dtype"]), len(first))
    for r in sorted(RESULTS, key=lambda r: (first[r["operation"], r["dtype"]], r["threads"])):
        if r["kind"] == "memset":
            lines.append(f"| {r['operation']} | {r['dtype']} | {r['threads']} | — | — | — "
                         f"| — | — | {r['memset_gbps']:.1f} |")
        else:
            lines.append(f"| {r['operation']} | {r['dtype']} | {r['threads']} | "
                         f"{r['torch_s']:.4f} | {r['varinit_s']:.4f} | {r['ratio']:.2f}× | "
                         f"{r['ratio_median']:.2f}× | {r['varinit_gbps']:.2f} | "
                         f"{r['memset_gbps']:.1f} |")
    return "\n".join(lines) + "\n"
