"""The value at flat index i depends only on (seed, distribution, params, dtype, i)."""
import threading

import numpy as np
import pytest

import varinit

N = 3 * (16 * 4096) * 2 + 12345          # many chunks, so threads really split it


def _fill(name, dtype, n, seed=5, offset=0):
    out = np.empty(n, dtype)
    if name == "uniform":
        return varinit.fill_uniform(out, -1.0, 2.0, seed=seed, offset=offset)
    if name == "normal":
        return varinit.fill_normal(out, 0.5, 2.0, seed=seed, offset=offset)
    return varinit.fill_truncated_normal(out, 0.5, 2.0, seed=seed, offset=offset)


DISTS = ["uniform", "normal", "truncated_normal"]


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_count_does_not_change_bits(dist, dtype):
    results = []
    for threads in (1, 2, 3, 8):
        with varinit.num_threads(threads):
            results.append(_fill(dist, dtype, N).tobytes())
    assert all(r == results[0] for r in results[1:])


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_calls_equal_one_call(dist, dtype):
    whole = _fill(dist, dtype, N)
    cuts = [0, 1, 17, 4095, 4097, 70001, 200003, N]       # inside blocks and chunks
    pieces = [_fill(dist, dtype, b - a, offset=a) for a, b in zip(cuts, cuts[1:])]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)


def test_shape_does_not_matter_only_flat_index():
    flat = _fill("uniform", np.float32, 4096 * 6)
    grid = varinit.fill_uniform(np.empty((8, 3, 1024), np.float32), -1.0, 2.0, seed=5)
    np.testing.assert_array_equal(grid.reshape(-1), flat)


def test_different_seeds_give_different_streams():
    a, b = _fill("uniform", np.float32, 10_000, seed=1), _fill("uniform", np.float32, 10_000, seed=2)
    assert np.mean(a == b) < 0.001
    # neighbouring blocks of one seed are not shifted copies of each other
    r = varinit.random_raw(np.empty(3 * 4096, np.uint32), seed=1)
    assert len(np.intersect1d(r[:4096], r[4096:8192])) < 5


@pytest.mark.parametrize("vary_threads", [False, True])
def test_concurrent_fills_from_python_threads(vary_threads):
    expected = {s: _fill("truncated_normal", np.float32, 300_000, seed=s) for s in range(6)}
    got, errors = {}, []

    def work(seed):
        try:
            # different thread counts at once must share the pool safely
            with varinit.num_threads(seed + 1 if vary_threads else 2):
                got[seed] = _fill("truncated_normal", np.float32, 300_000, seed=seed)
        except Exception as exc:            # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for s in expected:
        np.testing.assert_array_equal(got[s], expected[s])


def test_zero_size_is_fine():
    for fill in (varinit.fill_uniform, varinit.fill_normal, varinit.fill_truncated_normal):
        out = np.empty((0, 5), np.float32)
        assert fill(out, seed=0) is out
