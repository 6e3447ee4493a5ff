"""The C kernels against the written stream definition (docs/stream.md).

``streamref`` re-implements stream version 1 from the document in Python;
these tests fail if the kernels and the document ever disagree.
"""
from fractions import Fraction

import numpy as np
import pytest

import varinit
from streamref import BLOCK, LANES, polar_block, raw_block

SEED = 0x1234_5678_9ABC_DEF0


def test_constants():
    assert (varinit.BLOCK, varinit.LANES, varinit.STREAM_VERSION) == (BLOCK, LANES, 1)


@pytest.mark.parametrize("seed,block", [(0, 0), (SEED, 1), (2**64 - 1, 123_456)])
def test_random_raw_is_the_documented_lanes(seed, block):
    got = varinit.random_raw(np.empty(BLOCK, np.uint32), seed=seed, offset=block * BLOCK)
    draws = raw_block(seed, block, BLOCK // LANES)          # [row, lane]
    np.testing.assert_array_equal(got, draws.reshape(-1))


def test_random_raw_index_formula_across_blocks():
    offset, n = BLOCK - 37, 2 * BLOCK + 101                 # spans four blocks, odd ends
    got = varinit.random_raw(np.empty(n, np.uint32), seed=SEED, offset=offset)
    blocks = {b: raw_block(SEED, b, BLOCK // LANES) for b in range(4)}
    for j in [0, 1, 36, 37, 38, BLOCK, n - 1] + list(range(0, n, 997)):
        i = offset + j
        r = blocks[i // BLOCK]
        assert got[j] == r[(i % BLOCK) // LANES, i % LANES]


def _inward_f32(low, high):
    base = np.float32(low)
    if float(base) < low:
        base = np.nextafter(base, np.float32(np.inf))
    top = np.float32(high)
    if float(top) >= high:
        top = np.nextafter(top, np.float32(-np.inf))
    return base, top


@pytest.mark.parametrize("low,high", [(-0.1, 0.1), (0.0, 1.0), (2.5, 3.7), (-1e-3, 5.0)])
def test_uniform_f32_mapping(low, high):
    out = varinit.fill_uniform(np.empty(BLOCK, np.float32), low, high, seed=SEED, offset=BLOCK)
    raw = raw_block(SEED, 1, BLOCK // LANES).reshape(-1)
    base, top = _inward_f32(low, high)
    width = np.float32(float(Fraction(high) - Fraction(low)))   # exact difference, rounded once
    u = (raw >> 8).astype(np.float32) * np.float32(2.0 ** -24)
    expected = np.minimum(base + u * width, top)
    np.testing.assert_array_equal(out, expected)
    assert out.min() >= low and out.max() < high


def test_uniform_f64_mapping():
    low, high = -0.25, 0.75
    out = varinit.fill_uniform(np.empty(BLOCK, np.float64), low, high, seed=SEED)
    draws = raw_block(SEED, 0, 2 * BLOCK // LANES).astype(np.uint64)    # [2*row + k, lane]
    w = (draws[0::2] << np.uint64(32)) | draws[1::2]
    u = (w >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    expected = np.minimum(low + u.reshape(-1) * (high - low), np.nextafter(high, -np.inf))
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("truncate", [False, True])
def test_polar_rejection_order(dtype, truncate):
    mean, stddev = 0.5, 2.0
    n = 700                                  # several rows of candidates
    fill = varinit.fill_truncated_normal if truncate else varinit.fill_normal
    block = 5
    out = fill(np.empty(n, dtype), mean, stddev, seed=SEED, offset=block * BLOCK)
    lo, hi = (mean - 2 * stddev, mean + 2 * stddev) if truncate else (-np.inf, np.inf)
    expected = polar_block(SEED, block, n, mean, stddev, lo, hi, dtype)
    np.testing.assert_array_equal(out, expected)


def test_block_tail_and_offset_inside_block():
    """A fill starting inside a block skips the block's first outputs."""
    full = polar_block(SEED, 0, 300, 0.0, 1.0, -2.0, 2.0, np.float32)
    part = varinit.fill_truncated_normal(np.empty(77, np.float32), seed=SEED, offset=223)
    np.testing.assert_array_equal(part, full[223:])


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@pytest.mark.parametrize("dist", ["uniform", "truncated_normal", "normal"])
def test_low_precision_is_rounded_float32_stream(name, dist):
    if name == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        dtype = np.dtype(ml_dtypes.bfloat16)
    else:
        dtype = np.dtype(np.float16)
    n = 3 * BLOCK + 5
    if dist == "uniform":
        args, lo, hi = (-0.1, 0.1), -0.1, 0.1
        fill = varinit.fill_uniform
    else:
        args, lo, hi = (0.05, 0.02), 0.01, 0.09
        fill = varinit.fill_truncated_normal if dist == "truncated_normal" else varinit.fill_normal
    ref = fill(np.empty(n, np.float32), *args, seed=7, offset=11)
    got = fill(np.empty(n, dtype), *args, seed=7, offset=11)
    expected = ref.astype(dtype)                          # round to nearest even
    if dist != "normal":
        # clamp into the bounds rounded inward to the dtype
        lo_d = np.array(lo, dtype)
        if float(lo_d) < lo:
            lo_d = np.nextafter(lo_d, np.array(np.inf, dtype))
        hi_d = np.array(hi, dtype)
        if float(hi_d) > hi or (dist == "uniform" and float(hi_d) == hi):
            hi_d = np.nextafter(hi_d, np.array(-np.inf, dtype))
        expected = np.clip(expected.astype(np.float32), np.float32(lo_d), np.float32(hi_d)).astype(dtype)
        assert float(got.astype(np.float32).min()) >= lo
        if dist == "uniform":
            assert float(got.astype(np.float32).max()) < hi
        else:
            assert float(got.astype(np.float32).max()) <= hi
    np.testing.assert_array_equal(got.view(np.uint16), expected.view(np.uint16))


def test_width_is_the_exact_difference_rounded_once():
    """high - low = 1 + 2**-24 + 2**-60 exactly: just above the midpoint of two
    float32s, but a float64 intermediate rounds it onto the midpoint, and
    round-half-even would then give 1.0 instead of 1 + 2**-23."""
    from varinit import distributions as _distributions, dtypes as _dtypes
    float32 = _dtypes.lookup(np.dtype(np.float32))
    params = _distributions.get("uniform").kernel_params(-2.0**-60, 1.0 + 2.0**-24, float32)
    assert params["width_f"] == 1.0 + 2.0**-23
    ties = _distributions.get("uniform").kernel_params(0.0, 1.0 + 2.0**-24, float32)   # an exact tie: even
    assert ties["width_f"] == 1.0
