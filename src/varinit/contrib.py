"""TF1 ``tf.contrib.layers`` initializers with their exact semantics.

Code written for TensorFlow 1 keeps working with ``import varinit.contrib``;
each function returns an ordinary varinit :class:`~varinit.VarianceScaling`.

* ``uniform=True``: ``U[-L, L)``, ``L = sqrt(3 * factor / n)``: Keras's
  ``VarianceScaling(factor, mode.lower(), "uniform")`` exactly.
* ``uniform=False``: a normal with ``sigma = sqrt(1.3 * factor / n)``,
  truncated at ±2σ.  TF1's 1.3 approximates ``1 / 0.8796256610342398**2 =
  1.29242``, so the sample std is ``1.0029 * sqrt(factor / n)``.  It is
  expressed as ``VarianceScaling(1.3 * c**2 * factor, mode.lower(),
  "truncated_normal")`` with ``c = 0.87962566103423978``, whose σ is
  ``sqrt(1.3 * factor / n)`` up to float64 rounding.

``n`` is ``fan_in``, ``fan_out`` or their mean, from the same fans as Keras.
One difference: TF1 divides by a zero fan; varinit (as Keras) uses
``max(1, n)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .dtypes import resolve_dtype
from .initializers import TRUNCATED_STDDEV_FACTOR, VarianceScaling

__all__ = ["variance_scaling_initializer", "xavier_initializer", "xavier_initializer_conv2d"]

#: TF1 contrib's variance factor for its truncated normal.
CONTRIB_TRUNCATION_FACTOR = 1.3
_MODES = ("FAN_IN", "FAN_OUT", "FAN_AVG")


def variance_scaling_initializer(factor: float = 2.0, mode: str = "FAN_IN",
                                 uniform: bool = False, seed: Any = None,
                                 dtype: DTypeLike = np.float32) -> VarianceScaling:
    """TF1's ``tf.contrib.layers.variance_scaling_initializer``.

    Parameters
    ----------
    factor : float, optional
        Default 2.0 (He).  ``factor=1.0, mode="FAN_IN", uniform=True`` is
        Caffe's "xavier" filler; ``factor=1.0, mode="FAN_AVG"`` is Glorot.
    mode : {"FAN_IN", "FAN_OUT", "FAN_AVG"}, optional
        Upper case, exact, as TF1.
    uniform : bool, optional
        Uniform (True) or truncated normal (False, default).
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
        As for varinit initializers.
    dtype : dtype, optional
        Default dtype of the calls (float32).

    Returns
    -------
    VarianceScaling
        Called with only a shape, it returns ``dtype``; so does its
        ``clone()``.  ``get_config()`` has no dtype key (as Keras), so an
        initializer rebuilt from its config defaults to float32.

    Raises
    ------
    TypeError
        For a non-float dtype (``Cannot create initializer for non-floating
        point type.``) or an unknown mode, as TF1.

    Examples
    --------
    >>> import varinit.contrib
    >>> init = varinit.contrib.variance_scaling_initializer(1.0, "FAN_IN", True, seed=0)
    >>> init.get_config()["scale"], init.get_config()["distribution"]
    (1.0, 'uniform')
    """
    resolved = resolve_dtype(dtype)
    if resolved.kind != "f" and resolved.name != "bfloat16":
        raise TypeError("Cannot create initializer for non-floating point type.")
    if not isinstance(mode, str) or mode not in _MODES:
        raise TypeError(f"Unknown mode {mode} [FAN_IN, FAN_OUT, FAN_AVG]")
    if uniform:
        init = VarianceScaling(factor, mode.lower(), "uniform", seed=seed)
    else:
        scale = CONTRIB_TRUNCATION_FACTOR * TRUNCATED_STDDEV_FACTOR ** 2 * factor
        init = VarianceScaling(scale, mode.lower(), "truncated_normal", seed=seed)
    init._set_default_dtype(resolved)    # rejects a float dtype varinit cannot fill
    return init


def xavier_initializer(uniform: bool = True, seed: Any = None,
                       dtype: DTypeLike = np.float32) -> VarianceScaling:
    """TF1's ``tf.contrib.layers.xavier_initializer`` (Glorot).

    ``variance_scaling_initializer(factor=1.0, mode="FAN_AVG", uniform=uniform)``:
    uniform equals :class:`varinit.GlorotUniform`; the normal branch is TF1's
    truncated normal with ``sigma = sqrt(1.3 * 2 / (fan_in + fan_out))``.

    Parameters
    ----------
    uniform : bool, optional
        Default True.
    seed : int, None, SeedGenerator or numpy.random.Generator, optional
    dtype : dtype, optional
        Default float32.

    Returns
    -------
    VarianceScaling

    Examples
    --------
    >>> import varinit.contrib
    >>> varinit.contrib.xavier_initializer(seed=0)((4, 4)).dtype
    dtype('float32')
    """
    return variance_scaling_initializer(factor=1.0, mode="FAN_AVG", uniform=uniform,
                                        seed=seed, dtype=dtype)


xavier_initializer_conv2d = xavier_initializer
