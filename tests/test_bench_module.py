"""varinit.benchmarks, the code behind ``varinit bench`` and bench/report.py.

Functional checks on tiny buffers only: no test here asserts a speed.
"""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import varinit
from varinit import benchmarks
from varinit.benchmarks import runners

KERNELS = varinit.runtime_info()["kernels_available"]
FILL_WORKLOADS = [name for name, w in benchmarks.WORKLOADS.items() if w.kind == "fill"]


def test_import_varinit_does_not_import_the_benchmarks():
    code = ("import sys, varinit; assert 'varinit.benchmarks' not in sys.modules; "
            "varinit.benchmarks.specs; assert 'varinit.benchmarks' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_available_kernel_has_rows():
    rows = benchmarks.specs(threads=[1, 2], torch=False)
    for kernel in KERNELS:
        for workload in ("uniform f32", "truncated normal f32", "normal f32",
                         "uniform f64", "truncated normal f64"):
            for t in (1, 2):
                assert benchmarks.Spec(workload, "varinit", kernel, t) in rows
    # baselines come first within each workload
    for name in benchmarks.WORKLOADS:
        group = [s for s in rows if s.workload == name]
        assert group[0].library == "numpy"


def test_unknown_workload_is_refused():
    with pytest.raises(ValueError, match="unknown workload"):
        benchmarks.specs(workloads=["nope"])


def test_a_workload_names_a_distribution_of_the_table():
    with pytest.raises(ValueError, match="unknown distribution"):
        benchmarks.Workload("x", "float32", "fill", "", "no_such_distribution", (0.0, 1.0))
    for name in FILL_WORKLOADS:
        w = benchmarks.WORKLOADS[name]
        assert benchmarks.Spec(name, "varinit", "scalar", 1).call == f"fill_{w.dist.name}"


@pytest.mark.parametrize("name", ["uniform f32", "normal f32", "truncated normal f32"])
@pytest.mark.parametrize("threads", [1, 2])
def test_numpy_recipes_write_the_right_distribution(name, threads):
    buffers = benchmarks.Buffers(1 << 16)
    buf = buffers.get("float32")
    buf.fill(np.nan)
    benchmarks.make_runner(benchmarks.Spec(name, "numpy", "Generator", threads), buffers)()
    assert np.isfinite(buf).all()
    a, b = benchmarks.WORKLOADS[name].params
    if name == "uniform f32":
        assert buf.min() >= a and buf.max() < b
    elif name == "truncated normal f32":
        assert np.abs(buf).max() <= 2 * b * (1 + 1e-6)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("name", FILL_WORKLOADS)
def test_varinit_rows_write_what_the_public_api_writes(name, kernel):
    w = benchmarks.WORKLOADS[name]
    buffers = benchmarks.Buffers(5000)
    buf = buffers.get(w.dtype)
    benchmarks.make_runner(benchmarks.Spec(name, "varinit", kernel, 2), buffers)()
    public = {"uniform": varinit.fill_uniform, "normal": varinit.fill_normal,
              "truncated_normal": varinit.fill_truncated_normal}[w.distribution]
    expected = public(np.empty(5000, w.dtype), *w.params, seed=benchmarks.SEED)
    assert np.array_equal(buf, expected)


@pytest.mark.parametrize("kernel", KERNELS)
def test_new_array_row_writes_what_the_initializer_writes(kernel):
    n = 2 * 8192
    out = benchmarks.make_runner(benchmarks.Spec("new array f32", "varinit", kernel, 2),
                                 benchmarks.Buffers(n))()
    assert np.array_equal(out, varinit.GlorotUniform(seed=benchmarks.SEED)((2, 8192)))


@pytest.mark.parametrize("kernel", KERNELS)
def test_varinit_rows_force_kernel_and_threads_in_the_calling_thread_only(kernel, monkeypatch):
    seen = []

    def spy(out, low, high, *, seed):
        seen.append((varinit.runtime_info()["kernel"], varinit.get_num_threads()))

    monkeypatch.setattr(varinit, "fill_uniform", spy)
    before = (varinit.runtime_info()["kernel"], varinit.get_num_threads())
    run = benchmarks.make_runner(benchmarks.Spec("uniform f32", "varinit", kernel, 3),
                                 benchmarks.Buffers(64))
    run()
    assert seen == [(kernel, 3)]
    assert (varinit.runtime_info()["kernel"], varinit.get_num_threads()) == before


def test_measure_and_tables():
    rows = benchmarks.specs(threads=[1], kernels=["scalar"], torch=False,
                            workloads=["uniform f32", "buf.fill f32", "new array f32"])
    results = benchmarks.measure(rows, n=1 << 14, repeats=2)
    assert [r.spec for r in results] == rows
    by = {(r.spec.workload, r.spec.library): r for r in results}
    assert by["uniform f32", "numpy"].ratio == 1.0
    assert by["uniform f32", "varinit"].ratio > 0
    assert by["uniform f32", "varinit"].baseline == "numpy Generator T1"
    assert by["buf.fill f32", "numpy"].ratio is None
    assert by["buf.fill f32", "numpy"].of_memset == 1.0
    assert by["new array f32", "varinit"].baseline == "numpy np.empty+fill T1"
    assert all(len(r.times) == 2 for r in results)
    text, md = benchmarks.text_table(results), benchmarks.markdown_table(results)
    assert "uniform f32" in text and text.count("\n") == len(results) + 1
    assert md.count("\n") == len(results) + 1 and "`buf.fill(0.5)`" in md


def test_run_bench_prints_a_table(capsys):
    status = benchmarks.run_bench(["--size", "2**12", "--repeats", "1", "--threads", "1,2",
                                   "--no-torch", "--quiet",
                                   "--workloads", "uniform f32,normal f32"])
    assert status == 0
    out = capsys.readouterr().out
    assert "elements per buffer" in out
    for kernel in KERNELS:
        assert f"varinit  {kernel}" in out


@pytest.mark.parametrize("argv, message", [
    (["--kernels", "nosuch"], "not available"),
    (["--workloads", "nosuch"], "unknown workload"),
    (["--repeats", "0"], "at least 1"),
    (["--workloads", ","], "no workloads"),
])
def test_run_bench_bad_arguments(argv, message, capsys):
    assert benchmarks.run_bench(argv + ["--quiet", "--no-torch"]) == 2
    assert message in capsys.readouterr().err


def test_measure_leaves_no_thread_pool_or_torch_setting_behind():
    with_torch = benchmarks.torch_available()
    rows = benchmarks.specs(threads=[2], torch=with_torch,
                            workloads=["uniform f32", "buf.fill f32"])
    if with_torch:
        import torch
        torch.set_num_threads(1)            # the torch rows set 2
    benchmarks.measure(rows, n=1 << 12, repeats=2)
    assert runners._pools == {}
    if with_torch:
        assert torch.get_num_threads() == 1


def test_run_bench_help(capsys):
    assert benchmarks.run_bench(["--help"]) == 0
    assert "--size" in capsys.readouterr().out


@pytest.mark.parametrize("text, value", [("67108864", 1 << 26), ("2**26", 1 << 26),
                                         ("2^20", 1 << 20), ("1_000", 1000)])
def test_size_argument(text, value):
    assert benchmarks.parse_size(text) == value


def test_list_arguments():
    assert benchmarks.parse_int_list("1, 2,") == [1, 2]
    assert benchmarks.parse_name_list(" scalar ,, avx2") == ["scalar", "avx2"]
