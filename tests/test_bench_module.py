"""varinit._bench, the code behind ``python -m varinit bench`` and bench/report.py.

Functional checks on tiny buffers only: no test here asserts a speed.
"""
from __future__ import annotations

import numpy as np
import pytest

import varinit
from varinit import _bench, _dispatch


def test_every_available_kernel_has_rows():
    rows = _bench.specs(threads=[1, 2], torch=False)
    for kernel in _dispatch.available_kernels():
        for workload in ("uniform f32", "truncated normal f32", "normal f32",
                         "uniform f64", "truncated normal f64"):
            for t in (1, 2):
                assert _bench.Spec(workload, "varinit", kernel, t) in rows
    # baselines come first within each workload
    for name in _bench.WORKLOADS:
        group = [s for s in rows if s.workload == name]
        assert group[0].library == "numpy"


def test_unknown_workload_is_refused():
    with pytest.raises(ValueError, match="unknown workload"):
        _bench.specs(workloads=["nope"])


@pytest.mark.parametrize("kind", ["uniform", "normal", "truncated"])
@pytest.mark.parametrize("threads", [1, 2])
def test_numpy_recipes_write_the_right_distribution(kind, threads):
    buffers = _bench.Buffers(1 << 16)
    name = {"uniform": "uniform f32", "normal": "normal f32",
            "truncated": "truncated normal f32"}[kind]
    buf = buffers.get("float32")
    buf.fill(np.nan)
    _bench.make_runner(_bench.Spec(name, "numpy", "Generator", threads), buffers)()
    assert np.isfinite(buf).all()
    if kind == "uniform":
        assert buf.min() >= -_bench.UNIFORM_LIMIT and buf.max() < _bench.UNIFORM_LIMIT
    elif kind == "truncated":
        assert np.abs(buf).max() <= 2 * _bench.TRUNCATED_STDDEV * (1 + 1e-6)


@pytest.mark.parametrize("kernel", _dispatch.available_kernels())
def test_varinit_rows_write_what_the_public_api_writes(kernel):
    buffers = _bench.Buffers(5000)
    buf = buffers.get("float64")
    _bench.make_runner(_bench.Spec("truncated normal f64", "varinit", kernel, 2), buffers)()
    expected = varinit.fill_truncated_normal(np.empty(5000), 0.0, _bench.TRUNCATED_STDDEV,
                                             seed=_bench.SEED)
    assert np.array_equal(buf, expected)


def test_measure_and_tables():
    rows = _bench.specs(threads=[1], kernels=["scalar"], torch=False,
                        workloads=["uniform f32", "buf.fill f32", "new array f32"])
    results = _bench.measure(rows, n=1 << 14, repeats=2)
    assert [r.spec for r in results] == rows
    by = {(r.spec.workload, r.spec.library): r for r in results}
    assert by["uniform f32", "numpy"].ratio == 1.0
    assert by["uniform f32", "varinit"].ratio > 0
    assert by["uniform f32", "varinit"].baseline == "numpy Generator T1"
    assert by["buf.fill f32", "numpy"].ratio is None
    assert by["buf.fill f32", "numpy"].of_memset == 1.0
    assert by["new array f32", "varinit"].baseline == "numpy np.empty+fill T1"
    assert all(len(r.times) == 2 for r in results)
    text, md = _bench.text_table(results), _bench.markdown_table(results)
    assert "uniform f32" in text and text.count("\n") == len(results) + 1
    assert md.count("\n") == len(results) + 1 and "`buf.fill(0.5)`" in md


def test_run_bench_prints_a_table(capsys):
    status = _bench.run_bench(["--size", "2**12", "--repeats", "1", "--threads", "1,2",
                               "--no-torch", "--quiet", "--workloads", "uniform f32,normal f32"])
    assert status == 0
    out = capsys.readouterr().out
    assert "elements per buffer" in out
    for kernel in _dispatch.available_kernels():
        assert f"varinit  {kernel}" in out


@pytest.mark.parametrize("argv, message", [
    (["--kernels", "nosuch"], "not available"),
    (["--workloads", "nosuch"], "unknown workload"),
    (["--repeats", "0"], "at least 1"),
    (["--workloads", ","], "no workloads"),
])
def test_run_bench_bad_arguments(argv, message, capsys):
    assert _bench.run_bench(argv + ["--quiet", "--no-torch"]) == 2
    assert message in capsys.readouterr().err


def test_measure_leaves_no_thread_pool_or_torch_setting_behind():
    with_torch = _bench.torch_available()
    rows = _bench.specs(threads=[2], torch=with_torch,
                        workloads=["uniform f32", "buf.fill f32"])
    if with_torch:
        import torch
        torch.set_num_threads(1)            # the torch rows set 2
    _bench.measure(rows, n=1 << 12, repeats=2)
    assert _bench._pools == {}
    if with_torch:
        assert torch.get_num_threads() == 1


def test_run_bench_help(capsys):
    assert _bench.run_bench(["--help"]) == 0
    assert "--size" in capsys.readouterr().out


@pytest.mark.parametrize("text, value", [("67108864", 1 << 26), ("2**26", 1 << 26),
                                         ("2^20", 1 << 20), ("1_000", 1000)])
def test_size_argument(text, value):
    assert _bench._size(text) == value
