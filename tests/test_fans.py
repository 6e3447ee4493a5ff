"""compute_fans: Keras layout (ranks 0-5, axes) and torch layout (ranks 2-5)."""
from __future__ import annotations

import numpy as np
import pytest

import varinit

# (shape, fan_in, fan_out) in Keras's (*kernel, in, out) layout.
KERAS_TABLE = [
    ((), 1, 1),
    ((3,), 3, 3),
    ((0,), 0, 0),
    ((4, 5), 4, 5),
    ((5, 7, 3), 35, 15),
    ((3, 3, 16, 32), 144, 288),
    ((2, 3, 3, 16, 32), 288, 576),
    ((1, 1, 1, 1, 1), 1, 1),
    ((0, 5), 0, 5),
    ((3, 0, 4, 5), 0, 0),
]

# (torch shape, fan_in, fan_out): torch's (out, in, *kernel) layout.
TORCH_TABLE = [
    ((4, 5), 5, 4),
    ((5, 7, 3), 21, 15),
    ((32, 16, 3, 3), 144, 288),
    ((32, 16, 2, 3, 3), 288, 576),
    ((16, 32, 3, 3), 288, 144),      # ConvTranspose2d(16, 32, 3) weight
    ((8, 1, 5), 5, 40),
]


@pytest.mark.parametrize("shape,fan_in,fan_out", KERAS_TABLE)
def test_keras_layout(shape, fan_in, fan_out):
    fans = varinit.compute_fans(shape)
    assert fans == (fan_in, fan_out)
    assert all(type(f) is int for f in fans)
    assert varinit.compute_fans(list(shape), "keras") == fans
    assert varinit.compute_fans(np.array(shape, dtype=np.int64)) == fans


@pytest.mark.parametrize("shape,fan_in,fan_out", TORCH_TABLE)
def test_torch_layout(shape, fan_in, fan_out):
    assert varinit.compute_fans(shape, layout="torch") == (fan_in, fan_out)


@pytest.mark.parametrize("keras_shape", [(4, 5), (3, 3, 16, 32), (2, 3, 3, 16, 32), (5, 1, 8)])
def test_layouts_agree_after_permuting_axes(keras_shape):
    # (*k, in, out) -> (out, in, *k)
    torch_shape = (keras_shape[-1], keras_shape[-2]) + tuple(keras_shape[:-2])
    assert varinit.compute_fans(keras_shape) == varinit.compute_fans(torch_shape, layout="torch")


def test_explicit_axes():
    assert varinit.compute_fans((3, 3, 16, 32), input_axes=[0, 1, 2], output_axes=[3]) == (144, 32)
    assert varinit.compute_fans((4, 5), input_axes=[1], output_axes=[0]) == (5, 4)
    assert varinit.compute_fans((4, 5), input_axes=[-1], output_axes=[-2]) == (5, 4)
    assert varinit.compute_fans((2, 3, 4), input_axes=(), output_axes=[0, 1, 2]) == (1, 24)
    # Only one of them: both ignored, as Keras.
    assert varinit.compute_fans((4, 5), input_axes=[1]) == (4, 5)
    assert varinit.compute_fans((4, 5), output_axes=[0]) == (4, 5)


@pytest.mark.parametrize("call,error", [
    (lambda: varinit.compute_fans((5,), layout="torch"), ValueError),
    (lambda: varinit.compute_fans((), layout="torch"), ValueError),
    (lambda: varinit.compute_fans((4, 5), layout="tf"), ValueError),
    (lambda: varinit.compute_fans((4, 5), [1], [0]), TypeError),       # Keras's positional axes
    (lambda: varinit.compute_fans((4, 5), "torch", [1], [0]), ValueError),
    (lambda: varinit.compute_fans((4, -5)), ValueError),
    (lambda: varinit.compute_fans((4, 5.0)), TypeError),
    (lambda: varinit.compute_fans((4, 5), input_axes=[2], output_axes=[0]), IndexError),
    (lambda: varinit.compute_fans((4, 5), input_axes=[0.0], output_axes=[1]), TypeError),
    (lambda: varinit.compute_fans("45"), TypeError),
])
def test_errors(call, error):
    with pytest.raises(error):
        call()
