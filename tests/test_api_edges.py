"""Small edges of the public API: one rule for out= layouts, 0-d array parameters,
PCG32 pickling and numpy-like random_raw, a clean package namespace."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

import varinit

ALL_INITIALIZERS = [varinit.Zeros(), varinit.Ones(), varinit.Constant(2.0), varinit.Identity(),
                    varinit.RandomUniform(seed=1), varinit.GlorotNormal(seed=1),
                    varinit.Orthogonal(seed=1)]


@pytest.mark.parametrize("init", ALL_INITIALIZERS, ids=lambda i: type(i).__name__)
def test_every_initializer_refuses_a_strided_out_and_leaves_it(init):
    base = np.full((6, 8), 7.0)
    view = base[:, ::2]
    with pytest.raises(ValueError, match="C-contiguous"):
        init(out=view)
    assert (base == 7.0).all()


def test_zero_d_arrays_are_parameters_like_scalars():
    a = varinit.RandomNormal(stddev=np.array(0.1), seed=1)((50,))
    b = varinit.RandomNormal(stddev=0.1, seed=1)((50,))
    assert np.array_equal(a, b)
    x = varinit.fill_uniform(np.empty(20), np.array(-1.0), np.array(2), seed=3)
    assert np.array_equal(x, varinit.fill_uniform(np.empty(20), -1.0, 2.0, seed=3))
    t = varinit.fill_truncated_normal(np.empty(20), 0.0, 1.0, low=np.array(0.5), seed=4)
    assert np.array_equal(t, varinit.fill_truncated_normal(np.empty(20), low=0.5, seed=4))
    with pytest.raises(TypeError):
        varinit.RandomNormal(stddev=np.array([0.1]))      # not a scalar
    with pytest.raises(TypeError):
        varinit.fill_uniform(np.empty(2), np.array("a"), 1.0, seed=1)


def test_pcg32_pickles_mid_stream():
    g = varinit.PCG32(42, 54)
    g.random_raw(5)
    h = pickle.loads(pickle.dumps(g))
    assert h.state == g.state
    assert np.array_equal(h.random_raw(100), g.random_raw(100))


def test_random_raw_without_size_is_one_int_as_numpy():
    g, h = varinit.PCG32(1, 2), varinit.PCG32(1, 2)
    first = g.random_raw()
    assert type(first) is int and first == int(h.random_raw(1)[0])
    assert type(np.random.PCG64(0).random_raw()) is type(first)


def test_package_namespace_has_no_future_import():
    assert "annotations" not in dir(varinit)
    assert not hasattr(varinit, "annotations")
