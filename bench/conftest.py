"""pytest-benchmark suite of varinit's fills (not collected by a plain ``pytest``).

Run it with::

    python -m pytest bench/test_bench_fill.py      # 2**26 elements, 5 rounds
    python -m pytest bench/test_bench_fill.py --bench-size 2**22 --bench-rounds 3 --bench-threads 1

Rows come from :func:`varinit.benchmarks.specs`: every workload, for numpy's
``Generator`` (the baseline), every varinit kernel path this CPU runs
(``scalar``, and ``avx2``/``avx512`` once compiled in) and torch (skipped
when it is not installed), at one thread and at all threads.  Each test
stores samples/s and the ratio to numpy measured in the same session in
``benchmark.extra_info``.

``bench/test_bench_torch.py`` (varinit.torch against torch.nn.init) has its own
``--torch-*`` options and shares ``--bench-threads``.
"""
from __future__ import annotations

import shlex
import sys

import pytest

from varinit import benchmarks


def pytest_addoption(parser):
    group = parser.getgroup("varinit bench")
    group.addoption("--bench-size", default=str(benchmarks.DEFAULT_SIZE),
                    help="elements per buffer, e.g. 2**26 (default)")
    group.addoption("--bench-rounds", type=int, default=benchmarks.DEFAULT_REPEATS,
                    help="timed rounds per row after one warm-up (default 5)")
    group.addoption("--bench-threads", default=None,
                    help="thread counts, comma-separated (default: 1 and all available)")
    group.addoption("--bench-kernels", default=None,
                    help="varinit kernel paths, comma-separated (default: all available)")
    group.addoption("--normal-report", default=None,
                    help="write the table of bench/test_bench_normal.py to this markdown file")
    group.addoption("--torch-size", default="2**25",
                    help="elements of the tensors of bench/test_bench_torch.py (default 2**25, "
                         "shaped (n // 4096, 4096))")
    group.addoption("--torch-rounds", type=int, default=5,
                    help="timed rounds per tensor row of bench/test_bench_torch.py (default 5)")
    group.addoption("--torch-big-rounds", type=int, default=3,
                    help="timed rounds per model and table row of bench/test_bench_torch.py "
                         "(default 3)")
    group.addoption("--torch-model-scale", type=float, default=1.0,
                    help="scale of the 1B-parameter model and the 10M-row table of "
                         "bench/test_bench_torch.py (default 1)")
    group.addoption("--torch-report", default=None,
                    help="write the table of bench/test_bench_torch.py to this markdown file")


def pytest_generate_tests(metafunc):
    if "spec" in metafunc.fixturenames:
        option = metafunc.config.getoption
        threads = option("--bench-threads")
        kernels = option("--bench-kernels")
        rows = benchmarks.specs(
            threads=benchmarks.parse_int_list(threads) if threads else None,
            kernels=benchmarks.parse_name_list(kernels) if kernels else None,
            torch=True)                             # torch rows skip if it is absent
        metafunc.parametrize("spec", rows, ids=[s.id for s in rows])
    if "torch_threads" in metafunc.fixturenames:      # bench/test_bench_torch.py
        threads = metafunc.config.getoption("--bench-threads")
        counts = (benchmarks.parse_int_list(threads) if threads
                  else benchmarks.workloads.default_threads())
        metafunc.parametrize("torch_threads", counts, ids=[f"T{n}" for n in counts])


@pytest.fixture(scope="session")
def bench_size(pytestconfig) -> int:
    return benchmarks.parse_size(pytestconfig.getoption("--bench-size"))


@pytest.fixture(scope="session")
def bench_rounds(pytestconfig) -> int:
    return pytestconfig.getoption("--bench-rounds")


@pytest.fixture(scope="session")
def buffers(bench_size):
    """Warm buffers shared by every in-place row of a dtype."""
    bufs = benchmarks.Buffers(bench_size)
    yield bufs
    bufs.release()


class Reference:
    """Best/median times of the baseline rows measured in this session.

    A baseline row stores its own times; a row whose baseline was not run
    (deselected with ``-k``) gets it measured here, best-of-N as well.
    """

    def __init__(self, buffers: benchmarks.Buffers, rounds: int) -> None:
        self.buffers, self.rounds = buffers, rounds
        self.results: dict[benchmarks.Spec, benchmarks.Result] = {}

    def store(self, result: benchmarks.Result) -> None:
        self.results[result.spec] = result

    def get(self, spec: benchmarks.Spec) -> benchmarks.Result:
        if spec not in self.results:
            result, = benchmarks.measure([spec], self.buffers.n, self.rounds, buffers=self.buffers)
            self.results[spec] = result
        return self.results[spec]


@pytest.fixture(scope="session")
def reference(buffers, bench_rounds) -> Reference:
    return Reference(buffers, bench_rounds)


def pytest_sessionfinish(session):
    config = session.config
    command = "python -m pytest " + shlex.join(config.invocation_params.args)
    for option, name in (("--normal-report", "test_bench_normal"),
                         ("--torch-report", "test_bench_torch")):
        path = config.getoption(option, default=None)
        module = sys.modules.get(name)
        if path and module is not None and module.RESULTS:
            text = module.report(command) if name == "test_bench_torch" else module.report()
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
