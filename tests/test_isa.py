"""Every vector path writes exactly the scalar reference's bytes.

The AVX2 and AVX-512 kernels must reproduce the scalar kernels bit for bit
for every distribution and dtype, at any size, offset and thread count.
``_core.fill`` takes the kernel table by name, so one process compares all
paths the CPU runs; paths it lacks are skipped, not failed.  VARINIT_ISA is
checked in subprocesses, since the choice is made once, at import.
"""
from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import varinit
from varinit import _core, _dispatch, distributions as _distributions
from varinit import dtypes as _dtypes

VECTOR_PATHS = [k for k in _dispatch.KNOWN_KERNELS if k != "scalar"]
C = _core

NUMPY_TYPES = {C.DTYPE_U32: np.uint32, C.DTYPE_F32: np.float32, C.DTYPE_F64: np.float64,
               C.DTYPE_F16: np.float16, C.DTYPE_BF16: ml_dtypes.bfloat16}
BITS_VIEW = {2: np.uint16, 4: np.uint32, 8: np.uint64}
DTYPE_NAMES = {C.DTYPE_U32: "u32", C.DTYPE_F32: "f32", C.DTYPE_F64: "f64",
               C.DTYPE_F16: "f16", C.DTYPE_BF16: "bf16"}

BIG = (1 << 22) + 4097               # >= 2^22 elements, odd, not a whole block or row
BIG_OFFSET = 3 * 4096 + 777          # odd, in the middle of a block and of a row
# Hand-made windows keep 2-4% of the values: fewer elements, as many rows.
BIG_RARE = (1 << 17) + 4097


def _kernel(distribution: str, a: float, b: float, code: int, **options) -> tuple[int, dict]:
    """``(distribution code, params)`` as the public API would pass them."""
    return _distributions.get(distribution).kernel(a, b, _dtypes.by_code(code), **options)


def _kernel_params(distribution: str, a: float, b: float, code: int) -> dict:
    return _kernel(distribution, a, b, code)[1]


def require(path: str) -> None:
    missing = _core.missing_features(path)
    if missing is None:
        pytest.skip(f"{path} kernels are not compiled into this build")
    if missing:
        pytest.skip(f"this CPU lacks {missing} for the {path} path")


def _narrow_bounds(code: int) -> dict:
    """Clamp bounds of the full finite range, for cases built by hand."""
    if code == C.DTYPE_F16:
        return {"clamp_lo": 0xFBFF, "clamp_hi": 0x7BFF}
    if code == C.DTYPE_BF16:
        return {"clamp_lo": 0xFF7F, "clamp_hi": 0x7F7F}
    return {}


def _truncated_by_hand(code: int, mean: float, stddev: float, lo: float, hi: float) -> dict:
    """Ziggurat candidates kept only in [lo, hi]: rejection dominates when
    the window is narrow or far from the mean (the public API picks another
    kernel there, docs/stream.md 5.5)."""
    if code == C.DTYPE_F64:
        params = dict(mean=mean, stddev=stddev, lo=lo, hi=hi)
    else:
        f = lambda x: float(np.float32(x))  # noqa: E731
        params = dict(mean_f=f(mean), stddev_f=f(stddev), lo_f=f(lo), hi_f=f(hi))
    params.update(_narrow_bounds(code))
    return params


def _size(case) -> int:
    return BIG_RARE if "window" in case[0] or "tail" in case[0] else BIG


def _cases() -> list[tuple[str, int, int, dict]]:
    cases = [("raw", C.DIST_RAW, C.DTYPE_U32, {})]
    for code in (C.DTYPE_F32, C.DTYPE_F64, C.DTYPE_F16, C.DTYPE_BF16):
        name = DTYPE_NAMES[code]
        uniform = [(-0.1, 0.1), (0.0, 1.0), (-3.0, 7.5), (1e-3, 2.5e-3)]
        if code == C.DTYPE_F32:
            uniform.append((0.0, 1e-37))          # width * 2^-24 subnormal: two-multiply path
        if code == C.DTYPE_F64:
            uniform.append((0.0, 1e-300))         # width * 2^-53 subnormal
        if code == C.DTYPE_F16:
            uniform.append((-1e-4, 1e-4))         # float16 subnormals, round to nearest even
        if code == C.DTYPE_BF16:
            uniform.append((-1e-38, 1e-38))       # float32 and bfloat16 subnormals
        # A width of a few ulps: x lands on the top bound, which min(top, x)
        # must treat exactly as the reference's comparison.
        uniform.append((1.0, 1.0 + (1e-15 if code == C.DTYPE_F64 else 4e-7)))
        if code in (C.DTYPE_F16, C.DTYPE_BF16):
            uniform.append((1.0, 1.01))           # rounding lands on the clamp
        # Near the format's largest finite values (float16: RNE up to 65504).
        uniform.append({C.DTYPE_F16: (-65504.0, 65504.0), C.DTYPE_F64: (-1e300, 1e300)}.get(
            code, (-1e38, 1e38)))
        for lo, hi in uniform:
            cases.append((f"{name}-uniform[{lo},{hi})", C.DIST_UNIFORM, code,
                          _kernel_params("uniform", lo, hi, code)))
        for mean, stddev in ((0.0, 1.0), (1.0, 2.0)):
            cases.append((f"{name}-normal({mean},{stddev})", C.DIST_NORMAL, code,
                          _kernel_params("normal", mean, stddev, code)))
        # (1, 1e-7) / (1, 1e-16): deviates of a few ulps hit the bounds exactly.
        coarse = (1.0, 1e-16) if code == C.DTYPE_F64 else (1.0, 1e-7)
        for mean, stddev in ((0.0, 1.0), (0.0, 0.05), (-2.0, 0.3), coarse):
            dist, params = _kernel("truncated_normal", mean, stddev, code)
            cases.append((f"{name}-truncated({mean},{stddev})", dist, code, params))
        # Intervals that take the uniform-rejection and exponential-rejection
        # kernels (near and far, either side of the mean, one-sided).
        for low, high in ((0.5, 0.6), (-0.3, 0.2), (8.0, 8.5), (-9.0, -8.0),
                          (2.0, float("inf")), (float("-inf"), -6.0)):
            dist, params = _kernel("truncated_normal", 0.0, 1.0, code, low=low, high=high)
            kind = {C.DIST_NORMAL_FLAT: "flat", C.DIST_NORMAL_TAIL: "tail"}[dist]
            cases.append((f"{name}-{kind}[{low},{high}]", dist, code, params))
        cases.append((f"{name}-window[0.5,0.6]", C.DIST_NORMAL, code,
                      _truncated_by_hand(code, 0.0, 1.0, 0.5, 0.6)))      # ~4% kept
        cases.append((f"{name}-tail[2,inf]", C.DIST_NORMAL, code,
                      _truncated_by_hand(code, 0.0, 1.0, 2.0, float("inf"))))
    return cases


CASES = _cases()


def _fill_with(kernel: str, case: tuple, n: int, offset: int, threads: int = 1,
               seed: int = 0x5EED) -> np.ndarray:
    _, dist, code, params = case
    out = np.empty(n, NUMPY_TYPES[code])
    _core.fill(out, code, dist, params, seed, offset, threads, kernel)
    return out


@functools.lru_cache(maxsize=2)
def _scalar_big(index: int) -> np.ndarray:
    return _fill_with("scalar", CASES[index], _size(CASES[index]), BIG_OFFSET)


def assert_same_bits(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape
    a = got.view(BITS_VIEW[got.itemsize])
    b = want.view(BITS_VIEW[want.itemsize])
    bad = np.flatnonzero(a != b)
    if bad.size:
        i = int(bad[0])
        raise AssertionError(f"{what}: {bad.size} of {a.size} elements differ from the scalar "
                             f"reference, first at {i}: {a[i]:#x} != {b[i]:#x}")


# Ordered case-major so each scalar reference is computed once for all paths.
@pytest.mark.parametrize("index,path", [(i, p) for i in range(len(CASES)) for p in VECTOR_PATHS],
                         ids=[f"{c[0]}-{p}" for c in CASES for p in VECTOR_PATHS])
def test_large_fill_matches_scalar(index, path):
    require(path)
    want = _scalar_big(index)
    assert_same_bits(_fill_with(path, CASES[index], _size(CASES[index]), BIG_OFFSET), want,
                     f"{CASES[index][0]} on {path}")


@pytest.mark.parametrize("path", VECTOR_PATHS)
def test_threads_match_scalar(path):
    """1, 2 and 3 threads: work is split in chunks of whole blocks, the
    first and last chunk partial (odd offset, odd size)."""
    require(path)
    n, offset = 5 * _core.CHUNK + 12345, _core.CHUNK - 4097
    for case in CASES:
        size = n if _size(case) == BIG else n // 4
        want = _fill_with("scalar", case, size, offset)
        for threads in (1, 2, 3):
            assert_same_bits(_fill_with(path, case, size, offset, threads), want,
                             f"{case[0]} on {path} with {threads} threads")


# Sizes around rows (16) and blocks (4096), starting anywhere in a row or
# block: partial first and last rows, fills ending right after a skip.
SMALL = [(n, off) for n in (0, 1, 2, 15, 16, 17, 31, 33, 100, 4095, 4097)
         for off in (0, 1, 7, 15, 16, 17, 4079, 4095, 4096, 4099, 123457)]


@pytest.mark.parametrize("path", VECTOR_PATHS)
def test_small_fills_match_scalar(path):
    require(path)
    for case in CASES:
        for n, offset in SMALL:
            want = _fill_with("scalar", case, n, offset, seed=n * 7919 + offset)
            got = _fill_with(path, case, n, offset, seed=n * 7919 + offset)
            assert_same_bits(got, want, f"{case[0]} on {path}, n={n}, offset={offset}")


@pytest.mark.parametrize("path", VECTOR_PATHS)
def test_fill_is_split_invariant(path):
    """Piecewise fills with odd cut points equal one fill (lanes skipped
    inside blocks, rejection rows replayed from the block start)."""
    require(path)
    cuts = [0, 1, 18, 4095, 4100, 9000, 20001, 40000]
    for case in CASES:
        whole = _fill_with(path, case, cuts[-1], 5)
        parts = np.concatenate([_fill_with(path, case, b - a, 5 + a)
                                for a, b in zip(cuts, cuts[1:])])
        assert_same_bits(parts, whole, f"{case[0]} on {path}, piecewise")


def test_missing_features_api():
    assert _core.missing_features("scalar") == ""
    assert _core.missing_features("no-such-path") is None
    available = _dispatch.available_kernels()
    assert available[0] == "scalar"
    assert _core.best_kernel() == available[-1]
    features = set(_core.cpu_features().split())
    for path in available:
        assert _core.missing_features(path) == ""
    if "avx512" in available:
        assert {"avx512f", "avx512dq", "avx512bw", "avx512vl"} <= features
    if "avx2" in available:
        assert {"avx2", "fma", "f16c"} <= features
    for path in VECTOR_PATHS:
        missing = _core.missing_features(path)
        if missing:                       # each named feature really is absent
            assert not set(missing.split()) & features


# ---- VARINIT_ISA, in fresh interpreters -------------------------------------

def _run_python(code: str, isa: str | None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("VARINIT_ISA", None)
    if isa is not None:
        env["VARINIT_ISA"] = isa
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)


PROBE = ("import json, numpy as np, varinit\n"
         "x = varinit.fill_truncated_normal(np.empty(10007, np.float32), 0.0, 0.1, seed=9, offset=3)\n"
         "print(json.dumps([varinit.runtime_info()['kernel'], x.view(np.uint32).tolist()[-5:]]))\n")


def test_default_path_is_the_best():
    result = _run_python(PROBE, None)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0] == _core.best_kernel()


@pytest.mark.parametrize("path", list(_dispatch.KNOWN_KERNELS))
def test_forced_path(path):
    result = _run_python(PROBE, path)
    missing = _core.missing_features(path)
    if missing == "":
        assert result.returncode == 0, result.stderr
        kernel, tail = json.loads(result.stdout)
        assert kernel == path
        x = varinit.fill_truncated_normal(np.empty(10007, np.float32), 0.0, 0.1, seed=9, offset=3)
        assert tail == x.view(np.uint32).tolist()[-5:]
    else:
        assert result.returncode != 0
        assert "ImportError" in result.stderr and "VARINIT_ISA" in result.stderr
        if missing is not None:
            assert missing in result.stderr


def test_forced_path_case_and_space_insensitive():
    result = _run_python(PROBE, " Scalar ")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)[0] == "scalar"


def test_unknown_path_lists_valid_values():
    result = _run_python(PROBE, "sse9")
    assert result.returncode != 0
    assert "ImportError" in result.stderr and "VARINIT_ISA" in result.stderr
    assert "'sse9'" in result.stderr
    assert "scalar, avx2, avx512" in result.stderr


def test_unsupported_path_names_missing_features(monkeypatch):
    """The ImportError for a path the CPU lacks names the variable and the
    features; checked with a stand-in probe, since this CPU may have all."""
    class Probe:
        @staticmethod
        def missing_features(name):
            return {"scalar": "", "avx2": "", "avx512": "avx512dq avx512bw"}.get(name)

        @staticmethod
        def best_kernel():
            return "avx2"

    monkeypatch.setattr(_dispatch, "_core", Probe)
    monkeypatch.setenv("VARINIT_ISA", "avx512")
    with pytest.raises(ImportError, match=r"VARINIT_ISA=avx512: this CPU lacks avx512dq avx512bw"):
        _dispatch._from_environment()
    monkeypatch.setenv("VARINIT_ISA", "avx2")
    assert _dispatch._from_environment() == "avx2"
    monkeypatch.delenv("VARINIT_ISA")
    assert _dispatch._from_environment() == "avx2"


def test_runtime_info_reports_the_active_path():
    info = varinit.runtime_info()
    assert info["kernel"] == _dispatch.active_kernel()
    assert info["kernel"] in info["kernels_available"]
    assert info["kernels_available"] == _dispatch.available_kernels()


@pytest.mark.parametrize("path", _dispatch.available_kernels())
def test_empty_slot_is_an_error_and_writes_nothing(path):
    """A (distribution, dtype) with no kernel is refused by the driver, never
    run with another slot's kernel: raw values have no float32 slot, a
    uniform no uint32 slot, and codes past the table's axes none."""
    for dist, code, dtype in ((C.DIST_RAW, C.DTYPE_F32, np.float32),
                              (C.DIST_UNIFORM, C.DTYPE_U32, np.uint32),
                              (C.NDIST, C.DTYPE_F32, np.float32),
                              (C.DIST_UNIFORM, C.NDTYPE, np.float32)):
        out = np.full(100_000, 7, dtype)
        with pytest.raises(ValueError, match="no slot"):
            _core.fill(out, code, dist, {}, 1, 0, 2, path)
        assert (out == 7).all()


@pytest.mark.parametrize("path", _dispatch.available_kernels())
def test_unknown_kernel_parameter_is_an_error_and_writes_nothing(path):
    out = np.full(100_000, 7, np.float32)
    params = dict(_kernel_params("uniform", 0.0, 1.0, C.DTYPE_F32), widht_f=1.0)
    with pytest.raises(ValueError, match="widht_f"):
        _core.fill(out, C.DTYPE_F32, C.DIST_UNIFORM, params, 1, 0, 2, path)
    assert (out == 7).all()
