"""block() and rows(): exactly the full tensor's part, generating only that part."""
from __future__ import annotations

import numpy as np
import pytest

import varinit
from initializer_cases import BF16, CASE_IDS, CASES

SEED = 77
INITIALIZERS = [case.make(SEED) for case in CASES] + [
    varinit.Zeros(), varinit.Ones(), varinit.Constant(-1.5),
    varinit.Constant(np.arange(6.0).reshape(2, 3)),      # broadcasts over (.., 2, 3) tables
]
INIT_IDS = CASE_IDS + ["Zeros", "Ones", "Constant", "Constant(array)"]
DTYPES = [np.float32, np.float64, np.float16] + ([BF16] if BF16 is not None else [])


def _random_box(rng, shape):
    index = []
    for n in shape:
        start = int(rng.integers(0, n + 1))
        stop = int(rng.integers(start, n + 1))
        index.append(slice(start, stop))
    return tuple(index)


@pytest.mark.parametrize("init", INITIALIZERS, ids=INIT_IDS)
def test_block_equals_slice_of_full_tensor(init):
    rng = np.random.default_rng(0)
    for shape in [(), (13,), (9, 2, 3), (40, 2, 3), (5, 4, 2, 3), (3, 1, 4, 2, 3)]:
        if isinstance(init, varinit.Constant) and np.ndim(init.value) and shape[-2:] != (2, 3):
            continue
        for dtype in DTYPES:
            full = init(shape, dtype)
            indexes = [(), (slice(None),) * len(shape)] + [_random_box(rng, shape) for _ in range(6)]
            for index in indexes:
                index = index[:len(shape)]
                np.testing.assert_array_equal(init.block(shape, index, dtype), full[index])


@pytest.mark.parametrize("init", INITIALIZERS, ids=INIT_IDS)
def test_rows_equal_fancy_index_of_full_tensor(init):
    rng = np.random.default_rng(1)
    for shape in [(50,), (50, 2, 3), (7, 2, 3), (1, 2, 3), (20, 0, 3)]:
        if isinstance(init, varinit.Constant) and np.ndim(init.value) and shape[-2:] != (2, 3):
            continue
        for dtype in DTYPES[:2]:
            full = init(shape, dtype)
            n = shape[0]
            for ids in [rng.integers(-n, n, size=30), np.arange(n), np.arange(n)[::-1],
                        rng.integers(0, n, size=(4, 5)), np.array([n - 1] * 3, np.uint8),
                        np.array([], np.int64), [0, -1], n // 2]:
                got = init.rows(shape, ids, dtype)
                np.testing.assert_array_equal(got, full[np.asarray(ids)])
                assert got.dtype == dtype


def test_identity_block_and_rows():
    init = varinit.Identity(2.0)
    for shape in [(5, 7), (7, 5), (6, 6)]:
        full = init(shape)
        rng = np.random.default_rng(2)
        for _ in range(20):
            index = _random_box(rng, shape)
            np.testing.assert_array_equal(init.block(shape, index), full[index])
        ids = rng.integers(-shape[0], shape[0], size=15)
        np.testing.assert_array_equal(init.rows(shape, ids), full[ids])


def _blocks(first, size):
    return set(range(first // varinit.BLOCK, (first + size - 1) // varinit.BLOCK + 1))


@pytest.mark.parametrize("init", [varinit.Identity(2.0), varinit.Zeros(), varinit.Constant(3.0)],
                         ids=lambda i: type(i).__name__)
@pytest.mark.parametrize("ids", [[[0, 1], [4, 2]], [3, 3, 0], 1], ids=str)
def test_constant_rows_refuse_a_strided_out_as_every_initializer(init, ids):
    """One out= rule for all initializers: C-contiguous, or a ValueError with out untouched."""
    ids = np.asarray(ids)
    expected = init((5, 3))[ids]
    base = np.full(ids.shape + (6,), 7.0, np.float32)
    with pytest.raises(ValueError, match="C-contiguous"):
        init.rows((5, 3), ids, out=base[..., ::2])
    assert (base == 7.0).all()
    out = np.full(ids.shape + (3,), 7.0, np.float32)
    assert init.rows((5, 3), ids, out=out) is out
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("case", CASES[::4], ids=CASE_IDS[::4])
def test_each_touched_stream_block_is_generated_once(case, monkeypatch):
    # A fill always generates a stream block from its start (docs/stream.md),
    # so the cost of a request is the set of blocks its fills touch.
    init = case.make(SEED)
    calls = []
    original = varinit._fill.run

    def recording_run(out, fmt, dist, params, seed, offset):
        calls.append((offset, out.size))
        return original(out, fmt, dist, params, seed, offset)

    monkeypatch.setattr(varinit._fill, "run", recording_run)
    shape = (3000, 40, 8)
    flat_index = np.arange(np.prod(shape)).reshape(shape)
    requests = [
        ("block", (slice(100, 230), slice(5, 9), slice(2, 6))),
        ("block", (slice(0, 3000), slice(0, 1))),
        ("block", (slice(7, 9),)),
        ("rows", np.array([2999, 3, 3, 4, 5, 700, -1, 40, 42, 44, 1000])),
        ("rows", np.arange(0, 3000, 3)),
    ]
    for kind, index in requests:
        calls.clear()
        if kind == "block":
            init.block(shape, index)
            wanted = flat_index[index].ravel()
        else:
            init.rows(shape, index)
            wanted = flat_index[index].ravel()
        touched = [_blocks(offset, size) for offset, size in calls]
        union = set().union(*touched)
        assert sum(len(t) for t in touched) == len(union)                 # generated once
        assert union == set((wanted // varinit.BLOCK).tolist())           # and only those
    calls.clear()
    init.block(shape, (slice(7, 9),))                  # whole rows: one contiguous fill
    assert calls == [(7 * 320, 2 * 320)]


@pytest.mark.parametrize("case", CASES[::5], ids=CASE_IDS[::5])
def test_large_strided_requests(case):
    # Runs of 90 elements every 100 chain across stream blocks and across the
    # scratch-span groups; rows every 2nd id share blocks.
    init = case.make(SEED)
    shape = (40_000, 100)
    full = init(shape)
    np.testing.assert_array_equal(init.block(shape, (slice(None), slice(0, 90))), full[:, :90])
    np.testing.assert_array_equal(init.block(shape, (slice(5, 39_000), slice(50, 51))),
                                  full[5:39_000, 50:51])
    ids = np.concatenate([np.arange(0, 40_000, 2), np.arange(12_000, 13_000)])
    np.testing.assert_array_equal(init.rows(shape, ids), full[ids])


def test_block_and_rows_fill_out():
    init = varinit.HeNormal(seed=1)
    shape = (64, 32)
    full = init(shape)
    block = np.empty((10, 8), np.float32)
    assert init.block(shape, (slice(4, 14), slice(8, 16)), out=block) is block
    np.testing.assert_array_equal(block, full[4:14, 8:16])
    rows = np.empty((3, 32), np.float32)
    assert init.rows(shape, [5, 1, 5], out=rows) is rows
    np.testing.assert_array_equal(rows, full[[5, 1, 5]])
    ones = np.empty((2, 32), np.int16)
    varinit.Ones().rows(shape, [0, 1], out=ones)
    assert (ones == 1).all()


def test_block_index_forms():
    init = varinit.GlorotUniform(seed=2)
    shape = (12, 10)
    full = init(shape)
    np.testing.assert_array_equal(init.block(shape, slice(2, 5)), full[2:5])
    np.testing.assert_array_equal(init.block(shape, (slice(-4, None), slice(None, -3))),
                                  full[-4:, :-3])
    np.testing.assert_array_equal(init.block(shape, (slice(8, 3), slice(0, 100))), full[8:3, 0:100])
    np.testing.assert_array_equal(init.block(shape, (slice(None, None, 1),)), full)
    np.testing.assert_array_equal(init.block(shape, (slice(np.int64(1), np.int32(4)),)), full[1:4])


@pytest.mark.parametrize("index,error", [
    ((slice(0, 4, 2),), ValueError), ((1, slice(None)), TypeError), (Ellipsis, TypeError),
    ([slice(0, 2)], TypeError), ((slice(None),) * 3, IndexError),
    ((slice(0.5, 2),), TypeError), (np.array([1, 2]), TypeError),
])
def test_block_index_errors(index, error):
    with pytest.raises(error):
        varinit.HeUniform(seed=0).block((4, 4), index)


@pytest.mark.parametrize("ids,error", [
    ([4], IndexError), ([-5], IndexError), ([0, 1.0], TypeError), (np.array([True, False]), TypeError),
    (np.array([], np.float64), TypeError), ("1", TypeError), ([[0], [1, 2]], ValueError),
])
def test_rows_errors(ids, error):
    with pytest.raises(error):
        varinit.HeUniform(seed=0).rows((4, 3), ids)


def test_rows_needs_a_table():
    with pytest.raises(ValueError):
        varinit.HeUniform(seed=0).rows((), [0])


def test_out_validated_before_writing():
    init = varinit.RandomNormal(seed=3)
    buffer = np.full((3, 4), 9.0, np.float32)
    with pytest.raises(ValueError, match="shape"):
        init.block((10, 10), (slice(0, 4), slice(0, 4)), out=buffer)
    with pytest.raises(TypeError, match="dtype"):
        init.block((10, 4), (slice(0, 3),), np.float64, out=buffer)
    with pytest.raises(ValueError, match="shape"):
        init.rows((10, 4), [1, 2], out=buffer)
    with pytest.raises(IndexError):
        init.rows((10, 4), [1, 2, 10], out=buffer)
    with pytest.raises(ValueError):
        init.rows((10, 4), [1, 2, 3], out=np.full((4, 3), 9.0, np.float32).T)
    assert (buffer == 9.0).all()


def test_orthogonal_has_no_block_or_rows():
    init = varinit.Orthogonal(seed=0)
    with pytest.raises(NotImplementedError, match="whole"):
        init.block((4, 4), (slice(0, 2),))
    with pytest.raises(NotImplementedError, match="whole"):
        init.rows((4, 4), [0])
    # The whole tensor as a block is the tensor.
    np.testing.assert_array_equal(init.block((4, 4), (slice(None),)), init((4, 4)))


def test_big_table_rows_without_the_table():
    # A 10**9-row table (far beyond memory at 64 floats a row): rows are cheap.
    init = varinit.RandomUniform(seed=4)
    shape = (10**9, 64)
    ids = np.array([10**9 - 1, 0, 123_456_789, 0])
    got = init.rows(shape, ids)
    for k, row in enumerate(ids):
        expected = varinit.fill_uniform(np.empty(64, np.float32), -0.05, 0.05, seed=4,
                                        offset=int(row) * 64)
        np.testing.assert_array_equal(got[k], expected)
    np.testing.assert_array_equal(init.block(shape, (slice(123_456_789, 123_456_790),)), got[2:3])


def test_keras_style_subclass_without_plan():
    class Halves(varinit.Initializer):
        def __call__(self, shape=None, dtype=None, *, out=None):
            return np.full(shape, 0.5, dtype or np.float32)

    assert Halves()((2,)).tolist() == [0.5, 0.5]
    with pytest.raises(NotImplementedError, match="fill_block"):
        Halves().block((4,), (slice(0, 2),))
    with pytest.raises(NotImplementedError, match="fill_block"):
        Halves().rows((4,), [1])
