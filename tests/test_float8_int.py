"""float8 (ml_dtypes float8_e4m3fn, float8_e5m2) for every fill, and integer
and bool tables for the constant initializers: in memory, in files, in dask.

float8 is defined as float16 is (docs/stream.md 6): the float32 stream
rounded to nearest even, then clamped into the bounds rounded inward; the
reference here is ml_dtypes' own conversion.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import varinit

ml_dtypes = pytest.importorskip("ml_dtypes")
from initializer_cases import largest  # noqa: E402

E4M3 = np.dtype(ml_dtypes.float8_e4m3fn)
E5M2 = np.dtype(ml_dtypes.float8_e5m2)
FLOAT8 = [E4M3, E5M2]
N = 1 << 16


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint8)


def _reference(stream32, dtype, lo, hi):
    """RNE by ml_dtypes, then clamp into [lo, hi] (already dtype values);
    e4m3fn has no infinity: what rounds past 448 is clamped like one."""
    with np.errstate(over="ignore", invalid="ignore"):
        rounded = stream32.astype(dtype)
    wide = rounded.astype(np.float64)
    wide = np.where(np.isnan(wide), np.sign(stream32) * np.inf, wide)
    return np.where(wide < float(lo), lo, np.where(wide > float(hi), hi, rounded)).astype(dtype)


def _below(x, dtype):
    """The greatest dtype value < x (x a dtype value)."""
    return np.array(int(np.array(x, dtype).view(np.uint8)) - 1, np.uint8).view(dtype)[()] \
        if float(x) > 0 else None


@pytest.mark.parametrize("dtype", FLOAT8, ids=str)
@pytest.mark.parametrize("low,high", [
    (-1.0, 1.0), (0.0, 1e-2), (-0.02, 0.02),          # subnormals of both formats
    (-1e-4, 1e-4), (100.0, 440.0), ("-top", "top"), (3.0, 4.5)])
def test_uniform_is_rounded_float32_stream(dtype, low, high):
    if low == "-top":                                   # the whole finite range
        low, high = -float(largest(dtype)), float(largest(dtype))
    got = varinit.fill_uniform(np.empty(N, dtype), low, high, seed=7)
    stream = varinit.fill_uniform(np.empty(N, np.float32), low, high, seed=7)
    lo = np.array(low, dtype)
    if float(lo) < low:                                 # inward
        lo = np.array(int(lo.view(np.uint8)) + (1 if low >= 0 else -1), np.uint8).view(dtype)
    hi = np.array(high, dtype)
    while float(hi) >= high:                            # the top bound is open
        hi = np.array(int(hi.view(np.uint8)) + (-1 if float(hi) > 0 else 1), np.uint8).view(dtype)
    np.testing.assert_array_equal(_bits(got), _bits(_reference(stream, dtype, lo, hi)))
    wide = got.astype(np.float64)
    assert wide.min() >= low and wide.max() < high
    assert len(np.unique(_bits(got))) > 1


@pytest.mark.parametrize("dtype", FLOAT8, ids=str)
def test_normal_saturates_into_the_finite_range(dtype):
    """mean ± 13·stddev must be finite in the dtype; values the float32
    stream puts past the largest float8 are clamped to it, never NaN/inf."""
    top = float(largest(dtype))
    stddev = top / 14
    got = varinit.fill_normal(np.empty(N, dtype), 0.0, stddev, seed=3)
    stream = varinit.fill_normal(np.empty(N, np.float32), 0.0, stddev, seed=3)
    t = largest(dtype)
    np.testing.assert_array_equal(_bits(got), _bits(_reference(stream, dtype, -t, t)))
    assert np.isfinite(got.astype(np.float64)).all()


@pytest.mark.parametrize("dtype", FLOAT8, ids=str)
@pytest.mark.parametrize("low,high", [(None, None), (0.5, 0.6), (3.0, math.inf), (-9.0, -8.0)])
def test_truncated_normal_bounds(dtype, low, high):
    got = varinit.fill_truncated_normal(np.empty(N, dtype), 0.0, 1.0, low=low, high=high, seed=4)
    wide = got.astype(np.float64)
    lo, hi = (-2.0, 2.0) if low is None else (low, high)
    assert np.isfinite(wide).all() and wide.min() >= lo and wide.max() <= hi


@pytest.mark.parametrize("dtype,low,high", [(E4M3, 1.01, 1.1), (E5M2, 1.01, 1.2), (E4M3, 449.0, 500.0)])
def test_no_float8_value_in_the_interval(dtype, low, high):
    out = np.full(64, 1.0, dtype)
    with pytest.raises(ValueError):
        varinit.fill_truncated_normal(out, 0.0, 1.0, low=low, high=high, seed=0)
    assert np.all(out.astype(np.float64) == 1.0)


@pytest.mark.parametrize("dtype", FLOAT8, ids=str)
def test_float8_files_and_dask(tmp_path, dtype):
    init = varinit.HeNormal(seed=5)
    shape = (300, 40)
    want = init(shape, dtype)
    for suffix in (".npy", ".safetensors"):
        path = tmp_path / f"t{suffix}"
        varinit.save(path, init, shape, dtype)
        assert varinit.verify(path)
        if suffix == ".npy":
            stored = np.load(path)                     # the bit patterns, as uint8
        else:
            # safetensors' numpy loader has no float8: read the header and bytes
            data = path.read_bytes()
            size = int.from_bytes(data[:8], "little")
            entry = json.loads(data[8:8 + size])["weight"]
            assert entry["dtype"] == ("F8_E4M3" if dtype == E4M3 else "F8_E5M2")
            assert entry["shape"] == list(shape)
            begin, end = entry["data_offsets"]
            stored = np.frombuffer(data[8 + size + begin:8 + size + end], np.uint8)
        np.testing.assert_array_equal(_bits(stored).ravel(), _bits(want).ravel())
    vdask = pytest.importorskip("varinit.dask")
    got = vdask.from_initializer(init, shape, (64, 7), dtype).compute(scheduler="threads")
    np.testing.assert_array_equal(_bits(got), _bits(want))


# ---- integer and bool constants ---------------------------------------------

INT_DTYPES = ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_constants_in_memory(dtype):
    np.testing.assert_array_equal(varinit.Zeros()((3, 4), dtype), np.zeros((3, 4), dtype))
    np.testing.assert_array_equal(varinit.Ones()((3, 4), dtype), np.ones((3, 4), dtype))
    value = np.array([[1, 0, 7]]) if dtype != "bool" else np.array([[True, False, True]])
    got = varinit.Constant(value)((4, 3), dtype)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, np.broadcast_to(value.astype(dtype), (4, 3)))
    # numpy's casting: a float drops its fraction, bool takes the truth value
    np.testing.assert_array_equal(varinit.Constant(2.9)((2,), dtype), np.array([2.9, 2.9]).astype(dtype))
    info = np.iinfo(dtype) if dtype != "bool" else None
    if info is not None:
        assert varinit.Constant(info.max)((1,), dtype)[0] == info.max
        assert varinit.Constant(info.min)((1,), dtype)[0] == info.min


@pytest.mark.parametrize("dtype,value", [
    ("int8", 128), ("int8", -129), ("uint8", -1), ("uint8", 256), ("uint64", 2**64),
    ("int64", 2**63), ("int64", 2.0**63), ("int32", float("nan")), ("int16", float("inf")),
    ("uint16", np.array([1, 70000])), ("float16", 1e5), ("float8_e4m3fn", 500.0)])
def test_value_that_does_not_fit_is_a_value_error(dtype, value):
    dtype = E4M3 if dtype == "float8_e4m3fn" else np.dtype(dtype)
    out = np.zeros(4, dtype)
    with pytest.raises(ValueError, match="does not fit"):
        varinit.Constant(value)(out=out)
    assert not np.any(out.astype(np.float64))


@pytest.mark.parametrize("init", [varinit.RandomUniform(seed=1), varinit.TruncatedNormal(seed=1),
                                  varinit.GlorotNormal(seed=1), varinit.Orthogonal(seed=1)],
                         ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("dtype", ["int32", "bool", "uint8"])
def test_random_initializers_refuse_integer_dtypes(init, dtype):
    with pytest.raises(TypeError, match="cannot generate dtype"):
        init((4, 4), dtype)
    out = np.zeros((4, 4), dtype)
    with pytest.raises(TypeError):
        init(out=out)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "int32", "int64", "bool", "uint64"])
def test_integer_constant_files_and_dask(tmp_path, dtype):
    init = varinit.Constant(1 if dtype == "bool" else 5)
    shape = (1000, 3)
    want = init(shape, dtype)
    for suffix in (".npy", ".safetensors"):
        path = tmp_path / f"c{suffix}"
        varinit.save(path, init, shape, dtype)
        assert varinit.verify(path)
        if suffix == ".npy":
            stored = np.load(path)
        else:
            from safetensors.numpy import load_file
            stored = load_file(str(path))["weight"]
        assert stored.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(stored, want)
    with pytest.raises(TypeError, match="cannot generate"):
        varinit.save(tmp_path / "r.npy", varinit.HeUniform(seed=0), shape, dtype)
    assert not (tmp_path / "r.npy").exists()
    vdask = pytest.importorskip("varinit.dask")
    got = vdask.from_initializer(init, shape, (300, 2), dtype).compute(scheduler="threads")
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)
