"""Keras-compatible ``get``, ``serialize`` and ``deserialize`` for initializers.

The lookup table is Keras 3.15's: every class name, its snake_case form and
the aliases ``IdentityInitializer``, ``OrthogonalInitializer``, ``normal``,
``uniform``, ``zero``, ``one`` (case-sensitive).  Keras's ``STFT`` has no
varinit counterpart, so ``STFT``, ``stft`` and ``STFTInitializer`` are absent.
"""
from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import initializers as _init
from .dtypes import resolve_dtype
from ._fans import as_shape
from .initializers import Initializer

__all__ = ["get", "serialize", "deserialize", "ALL_OBJECTS_DICT"]

_CLASSES: tuple[type[Initializer], ...] = (
    _init.Initializer, _init.Constant, _init.Identity, _init.Ones, _init.Zeros,
    _init.GlorotNormal, _init.GlorotUniform, _init.HeNormal, _init.HeUniform,
    _init.LecunNormal, _init.LecunUniform, _init.Orthogonal, _init.RandomNormal,
    _init.RandomUniform, _init.TruncatedNormal, _init.VarianceScaling,
)


def _snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``GlorotUniform`` -> ``glorot_uniform``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


#: Every string ``get`` accepts, mapped to its class (Keras's table).
ALL_OBJECTS_DICT: dict[str, type[Initializer]] = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update({_snake_case(cls.__name__): cls for cls in _CLASSES})
ALL_OBJECTS_DICT.update({
    "IdentityInitializer": _init.Identity,
    "OrthogonalInitializer": _init.Orthogonal,
    "normal": _init.RandomNormal,
    "uniform": _init.RandomUniform,
    "zero": _init.Zeros,
    "one": _init.Ones,
})


def serialize(initializer: Initializer | None) -> dict | None:
    """Keras's serialized form of an initializer.

    Parameters
    ----------
    initializer : Initializer or None

    Returns
    -------
    dict or None
        ``{"module": "keras.initializers", "class_name": <class name>,
        "config": initializer.get_config(), "registered_name": None}``, which
        ``keras.initializers.deserialize`` also reads; ``None`` for ``None``.

    Raises
    ------
    TypeError
        For anything that is not a varinit initializer.

    Examples
    --------
    >>> import varinit
    >>> varinit.serialize(varinit.GlorotUniform(seed=1))["config"]
    {'seed': 1, 'input_axes': None, 'output_axes': None}
    """
    if initializer is None:
        return None
    if not isinstance(initializer, Initializer):
        raise TypeError(f"serialize() takes a varinit initializer, got {type(initializer).__name__}")
    return {"module": "keras.initializers", "class_name": type(initializer).__name__,
            "config": initializer.get_config(), "registered_name": None}


def deserialize(config: Mapping[str, Any] | str,
                custom_objects: Mapping[str, type] | None = None) -> Initializer:
    """Build an initializer from its serialized form (varinit's or Keras's).

    Parameters
    ----------
    config : dict or str
        ``{"class_name": name, "config": {...}}``, optionally with Keras's
        ``module`` and ``registered_name`` keys; ``config`` may be omitted.
        A string is a class name (as :func:`get`).
    custom_objects : dict, optional
        Extra ``name -> class`` entries, looked up first.

    Returns
    -------
    Initializer

    Raises
    ------
    ValueError
        For a dict without ``class_name`` or an unknown class name.
    TypeError
        For config keys the class does not take.

    Examples
    --------
    >>> import varinit
    >>> varinit.deserialize({"class_name": "he_normal", "config": {"seed": 3}})
    HeNormal(seed=3, input_axes=None, output_axes=None)
    """
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, Mapping):
        raise ValueError(f"Could not interpret initializer identifier: {config}")
    if "class_name" not in config:
        raise ValueError(f"Unknown `config` as a `dict`, config={config}")
    name = config["class_name"]
    cls = None
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
    elif isinstance(name, str):
        cls = ALL_OBJECTS_DICT.get(name)
    if cls is None:
        raise ValueError(f"Could not interpret initializer identifier: {config}")
    inner = config.get("config") or {}
    if not isinstance(inner, Mapping):
        raise TypeError(f"the config of {name} must be a dict, got {type(inner).__name__}")
    return cls.from_config(dict(inner))


def _array_initializer(array: np.ndarray) -> Callable[..., np.ndarray]:
    stored = np.asarray(array)

    def initialize_fn(shape: Any, dtype: Any = None) -> np.ndarray:
        if as_shape(shape) != stored.shape:
            raise ValueError(f"Expected `shape` to be {stored.shape} for direct tensor as "
                             f"initializer. Received shape={shape}")
        return stored.astype(resolve_dtype(dtype))

    return initialize_fn


def get(identifier: Any) -> Any:
    """Retrieve an initializer, as ``keras.initializers.get``.

    Parameters
    ----------
    identifier : None, str, dict, class, callable or array
        * ``None`` -> ``None``;
        * a name from the Keras table (``"glorot_uniform"``, ``"normal"``,
          ``"HeNormal"``, ... case-sensitive) -> a new instance with defaults;
        * a config dict -> :func:`deserialize`;
        * a class -> a new instance; an initializer or any other callable ->
          itself;
        * a numpy array or scalar -> a function ``(shape, dtype=None)``
          returning it cast to ``dtype`` (the shape must match).

    Returns
    -------
    Initializer, callable or None

    Raises
    ------
    ValueError
        ``Could not interpret initializer identifier: ...`` for anything else.

    Examples
    --------
    >>> import varinit
    >>> varinit.get("uniform")
    RandomUniform(seed=None, minval=-0.05, maxval=0.05)
    >>> varinit.get("glorot_uniform").__class__ is varinit.GlorotUniform
    True
    """
    if identifier is None:
        return None
    if isinstance(identifier, Mapping):
        obj: Any = deserialize(identifier)
    elif isinstance(identifier, str):
        if identifier not in ALL_OBJECTS_DICT:
            raise ValueError(f"Could not interpret initializer identifier: {identifier}")
        obj = deserialize({"class_name": identifier, "config": {}})
    elif isinstance(identifier, (np.ndarray, np.generic)):
        obj = _array_initializer(identifier)
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret initializer identifier: {identifier}")
