"""The C kernels against the written stream definition (docs/stream.md).

``streamref`` re-implements stream version 2 from the document in Python;
these tests fail if the kernels and the document ever disagree.
"""
from fractions import Fraction

import numpy as np
import pytest

import varinit
from streamref import (BLOCK, LANES, choose_kernel, kernel_block, raw_block, truncated_block,
                       ziggurat_block, ziggurat_tables)

SEED = 0x1234_5678_9ABC_DEF0


def test_constants():
    assert (varinit.BLOCK, varinit.LANES, varinit.STREAM_VERSION) == (BLOCK, LANES, 2)


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


def _candidate_words(seed, block, rows, dtype):
    """The ziggurat's ``g`` of 5.2 for the first ``rows`` rows, [row, lane]."""
    if np.dtype(dtype) == np.float32:
        return raw_block(seed, block, rows).astype(np.uint64)
    d = raw_block(seed, block, 2 * rows).astype(np.uint64)
    return (d[0::2] << np.uint64(32)) | d[1::2]


def _first_tail_row(seed, block, rows, dtype):
    """The first row of the block holding a candidate in layer 0 beyond r
    (None if none in ``rows`` rows)."""
    X, _, _ = ziggurat_tables(dtype)
    T = np.float32 if np.dtype(dtype) == np.float32 else np.float64
    w = _candidate_words(seed, block, rows, dtype)
    if T == np.float32:
        unit = (w >> np.uint64(8)).astype(np.float32) * np.float32(2.0 ** -24)
    else:
        unit = (w >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    tail = ((w & np.uint64(127)) == 0) & (unit * X[0] >= X[1])
    hits = np.flatnonzero(tail.any(axis=1))
    return int(hits[0]) if hits.size else None


def _tail_block(seed, dtype, rows, first=0):
    """A block whose first ``rows`` rows hold a tail candidate."""
    for block in range(first, first + 200):
        if _first_tail_row(seed, block, rows, dtype) is not None:
            return block
    raise AssertionError("no tail candidate in 200 blocks")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normal_is_the_ziggurat(dtype):
    """fill_normal is 5.2 with lo = -inf, hi = +inf; the block is chosen so
    that its outputs include a tail candidate (layer 0 beyond r); wedges,
    accepted and rejected, occur in any block."""
    mean, stddev, n = 0.5, 2.0, BLOCK                  # a whole block
    block = _tail_block(SEED, dtype, n // LANES - 8)
    out = varinit.fill_normal(np.empty(n, dtype), mean, stddev, seed=SEED, offset=block * BLOCK)
    stats = {}
    expected = ziggurat_block(SEED, block, n, mean, stddev, dtype=dtype, stats=stats)
    np.testing.assert_array_equal(out, expected)
    assert stats["tail"] > 0 and stats["wedge"] > 0 and stats["wedge_rejected"] > 0, stats
    assert 0 < stats["fixups"] < n // 20, stats          # about 2.8 % of positions
    # a tail value lies beyond r standard deviations
    assert np.any(np.abs((expected.astype(np.float64) - mean) / stddev) > 3.44)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fill_inside_a_block_is_positional(dtype):
    """A position's value depends only on its row's draws of its lane and
    on its own retry generator (every slow step and retry reads that one),
    so a fill starting at a later block position equals the model's
    positions there, whatever the earlier positions needed."""
    n, skip = 1100, 613
    block = 3
    full = ziggurat_block(SEED, block, n, 0.0, 1.0, dtype=dtype)
    part = varinit.fill_normal(np.empty(n - skip, dtype), seed=SEED,
                               offset=block * BLOCK + skip)
    np.testing.assert_array_equal(part, full[skip:])


def test_normal_across_a_block_boundary():
    n, start = 96, BLOCK - 40
    out = varinit.fill_normal(np.empty(n, np.float32), -1.0, 0.5, seed=SEED, offset=start)
    first = ziggurat_block(SEED, 0, BLOCK, -1.0, 0.5, dtype=np.float32)[start:]
    second = ziggurat_block(SEED, 1, n - first.size, -1.0, 0.5, dtype=np.float32)
    np.testing.assert_array_equal(out, np.concatenate([first, second]))


def _interval(mean, stddev, lo, hi):
    low = None if lo is None else (lo if np.isinf(lo) else mean + lo * stddev)
    high = None if hi is None else (hi if np.isinf(hi) else mean + hi * stddev)
    return low, high


INF = float("inf")
# (mean, stddev, low, high in stddevs from the mean, kernel, outputs checked)
TRUNCATED = [
    (0.5, 2.0, None, None, "normal_trunc", 800),       # default mean -+ 2 stddev
    (-3.0, 0.25, -1.95, 1.92, "normal_trunc", 800),    # inside [-2, 2], past 1.9
    (0.5, 2.0, -INF, 0.3, "normal", 700),              # one-sided, below
    (-3.0, 0.25, -0.4, INF, "normal", 700),            # one-sided, above
    (0.5, 2.0, -1.0, 3.2, "normal", 700),              # asymmetric
    (0.5, 2.0, 8.0, 9.0, "normal_tail", 1000),
    (0.5, 2.0, -9.0, -8.0, "normal_tail", 1000),       # mirrored: base = hi, step < 0
    (0.5, 2.0, 30.0, INF, "normal_tail", 1000),
    (-3.0, 0.25, -INF, -4.0, "normal_tail", 1000),     # mirrored, open below
    (0.1, 0.3, 1.0, 2.5, "normal_tail", 1000),
    (0.5, 2.0, 0.5, 0.501, "normal_flat", 1000),       # narrow
    (0.5, 2.0, -0.2, 0.4, "normal_flat", 1000),        # contains the mean
    (-3.0, 0.25, -1.2, 0.9, "normal_flat", 1000),      # asymmetric around the mean
    (0.1, 0.3, -2.0, -1.6, "normal_flat", 1000),       # below the mean, c = 1.6
    (0.1, 0.3, 1.0, 1.5, "normal_flat", 1000),         # above, c = 1
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean,stddev,lo,hi,kernel,n", TRUNCATED)
def test_truncated_normal_is_the_documented_kernel(dtype, mean, stddev, lo, hi, kernel, n):
    low, high = _interval(mean, stddev, lo, hi)
    n *= 2
    name, params = choose_kernel(mean, stddev, low, high, dtype)
    assert name == kernel
    block = 5
    out = varinit.fill_truncated_normal(np.empty(n, dtype), mean, stddev, low=low, high=high,
                                        seed=SEED, offset=block * BLOCK)
    stats = {}
    expected = kernel_block(name, SEED, block, n, params, dtype, stats)
    np.testing.assert_array_equal(out, expected)
    assert np.all(out >= params["lo"]) and np.all(out <= params["hi"])
    # rejections went to retries, except where next to none are expected:
    # a nearly flat density, or an exponential so steep that it fits the tail
    nearly_exact = (name == "normal_flat" and hi - lo <= 0.01) or (
        name == "normal_tail" and min(abs(lo), abs(hi)) >= 10)
    if not nearly_exact:
        assert stats["fixups"] > 0, stats
    if name in ("normal", "normal_trunc"):
        assert stats["wedge"] > 0, stats


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_truncated_ziggurat_tail_candidate(dtype):
    """(-inf, mean] contains the mean, so it is the ziggurat: the block is
    chosen to hold a tail candidate (kept if negative, else its position
    retries)."""
    mean, stddev = 0.0, 1.0
    n = 300
    low, high = -INF, 0.0
    assert choose_kernel(mean, stddev, low, high, dtype)[0] == "normal"
    rows = n // LANES + 10                    # fewer than the fill certainly needs
    block = _tail_block(SEED, dtype, rows, first=40)
    out = varinit.fill_truncated_normal(np.empty(n, dtype), mean, stddev, low=low, high=high,
                                        seed=SEED, offset=block * BLOCK)
    stats = {}
    expected = truncated_block(SEED, block, n, mean, stddev, low, high, dtype, stats)
    np.testing.assert_array_equal(out, expected)
    assert stats["tail"] > 0, stats


def test_truncated_offset_inside_block():
    """A fill starting inside a block skips the block's first outputs."""
    for low, high in [(None, None), (8.0, 9.0), (-0.2, 0.4)]:
        full = truncated_block(SEED, 0, 300, 0.0, 1.0, low, high, np.float32)
        part = varinit.fill_truncated_normal(np.empty(77, np.float32), low=low, high=high,
                                             seed=SEED, offset=223)
        np.testing.assert_array_equal(part, full[223:])


LOW_PRECISION = [
    ("uniform", (-0.1, 0.1), -0.1, 0.1),
    ("normal", (0.05, 0.02), None, None),
    ("truncated_normal", (0.05, 0.02), None, None),            # mean -+ 2 stddev
    ("truncated_normal", (0.05, 0.02), -INF, 0.056),           # one-sided (normal)
    ("truncated_normal", (0.05, 0.02), 0.046, 0.058),          # contains the mean (flat)
    ("truncated_normal", (0.05, 0.02), 0.21, 0.23),            # tail
    ("truncated_normal", (0.05, 0.02), -INF, -0.01),           # mirrored tail, open
    ("truncated_normal", (0.05, 0.02), 0.06, 0.0602),          # narrow (flat)
]


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
@pytest.mark.parametrize("dist,args,low,high", LOW_PRECISION)
def test_low_precision_is_rounded_float32_stream(name, dist, args, low, high):
    if name == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        dtype = np.dtype(ml_dtypes.bfloat16)
    else:
        dtype = np.dtype(np.float16)
    n = 3 * BLOCK + 5
    if dist == "uniform":
        fill, kw = varinit.fill_uniform, {}
    elif dist == "normal":
        fill, kw = varinit.fill_normal, {}
    else:
        fill, kw = varinit.fill_truncated_normal, {"low": low, "high": high}
        if low is None:
            low, high = args[0] - 2 * args[1], args[0] + 2 * args[1]
    ref = fill(np.empty(n, np.float32), *args, **kw, seed=7, offset=11)
    got = fill(np.empty(n, dtype), *args, **kw, seed=7, offset=11)
    expected = ref.astype(dtype)                          # round to nearest even
    if dist != "normal":
        # clamp into the bounds rounded inward to the dtype ([low, high) for uniform)
        with np.errstate(invalid="ignore"):             # the NaN patterns
            values = np.arange(1 << 16, dtype=np.uint16).view(dtype).astype(np.float64)
        values = values[np.isfinite(values)]
        inside = values[(values >= low) & ((values < high) if dist == "uniform" else (values <= high))]
        lo_d, hi_d = inside.min(), inside.max()
        expected = np.clip(expected.astype(np.float32), np.float32(lo_d),
                           np.float32(hi_d)).astype(dtype)
        wide = got.astype(np.float64)
        assert wide.min() >= low
        assert wide.max() < high if dist == "uniform" else wide.max() <= high
    np.testing.assert_array_equal(got.view(np.uint16), expected.view(np.uint16))


def test_width_is_the_exact_difference_rounded_once():
    """high - low = 1 + 2**-24 + 2**-60 exactly: just above the midpoint of two
    float32s, but a float64 intermediate rounds it onto the midpoint, and
    round-half-even would then give 1.0 instead of 1 + 2**-23."""
    from varinit import distributions as _distributions, dtypes as _dtypes
    float32 = _dtypes.lookup(np.dtype(np.float32))
    _, params = _distributions.get("uniform").kernel(-2.0**-60, 1.0 + 2.0**-24, float32)
    assert params["width_f"] == 1.0 + 2.0**-23
    _, ties = _distributions.get("uniform").kernel(0.0, 1.0 + 2.0**-24, float32)   # an exact tie: even
    assert ties["width_f"] == 1.0
