"""varinit.use_kernel: the public kernel switch beside VARINIT_ISA."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import varinit
from varinit import _dispatch

AVAILABLE = _dispatch.available_kernels()


@pytest.fixture(autouse=True)
def restore_process_kernel():
    before = varinit.runtime_info()["kernel"]
    yield
    varinit.use_kernel(before)


@pytest.mark.parametrize("kernel", AVAILABLE)
def test_with_block_selects_the_kernel_and_keeps_the_bits(kernel):
    reference = varinit.fill_truncated_normal(np.empty(50_001, np.float32), 0.0, 1.0, seed=9)
    outer = varinit.runtime_info()["kernel"]
    with varinit.use_kernel(kernel) as choice:
        assert choice.name == kernel
        assert varinit.runtime_info()["kernel"] == kernel == _dispatch.active_kernel()
        got = varinit.fill_truncated_normal(np.empty(50_001, np.float32), 0.0, 1.0, seed=9)
    assert varinit.runtime_info()["kernel"] == outer
    np.testing.assert_array_equal(got, reference)


def test_plain_call_is_process_wide():
    varinit.use_kernel("scalar")
    seen = []
    worker = threading.Thread(target=lambda: seen.append(_dispatch.active_kernel()))
    worker.start()
    worker.join()
    assert seen == ["scalar"] and varinit.runtime_info()["kernel"] == "scalar"


def test_with_block_is_per_thread():
    if len(AVAILABLE) < 2:
        pytest.skip("one kernel path on this machine")
    first, last = AVAILABLE[0], AVAILABLE[-1]
    varinit.use_kernel(last)
    inside, other = threading.Event(), []

    def other_thread():
        inside.wait()
        other.append(_dispatch.active_kernel())

    worker = threading.Thread(target=other_thread)
    worker.start()
    with varinit.use_kernel(first):
        inside.set()
        worker.join()
        assert _dispatch.active_kernel() == first
    assert other == [last] and _dispatch.active_kernel() == last


def test_nested_blocks_restore_in_order():
    with varinit.use_kernel("scalar"):
        with varinit.use_kernel(AVAILABLE[-1]):
            assert _dispatch.active_kernel() == AVAILABLE[-1]
        assert _dispatch.active_kernel() == "scalar"


@pytest.mark.parametrize("name,error", [("sse9", ValueError), ("", ValueError),
                                        ("AVX2 ", ValueError), (None, TypeError), (3, TypeError)])
def test_unknown_kernels_are_refused(name, error):
    before = varinit.runtime_info()["kernel"]
    with pytest.raises(error, match="not a kernel|must be a string"):
        varinit.use_kernel(name)
    assert varinit.runtime_info()["kernel"] == before


def test_kernel_the_cpu_lacks_is_refused(monkeypatch):
    class Probe:
        @staticmethod
        def missing_features(name):
            return {"scalar": "", "avx2": "", "avx512": "avx512bw"}.get(name)

    monkeypatch.setattr(_dispatch, "_core", Probe)
    with pytest.raises(ValueError, match="this CPU lacks avx512bw"):
        varinit.use_kernel("avx512")
