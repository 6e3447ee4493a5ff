"""varinit for Keras 3: varinit's initializers as Keras initializers.

One class per varinit initializer, with the same name, arguments, configs
and values, each a subclass of both the varinit class and the Keras class of
the same name (so fan-based ones are ``keras.initializers.VarianceScaling``
instances, and layers that set fan axes on Keras's ``VarianceScaling``, as
``EinsumDense`` and ``MultiHeadAttention`` do, set them on these too).
They are registered for Keras serialization as ``"varinit>GlorotUniform"``
etc., so ``model.save``/``keras.models.load_model``, ``clone_model``,
``model_from_json`` and ``from_config`` bring them back as themselves, with
the same values for the same seed, without ``custom_objects`` (the loading
process only has to ``import varinit.keras``).  Calling one returns the
backend's tensor (zero-copy where the backend allows); its values are
varinit's stream, bit for bit the numpy array of the varinit class.

Importing this module also makes plain varinit initializers given to Keras
(``Dense(kernel_initializer=varinit.GlorotUniform())``) become the classes of
this module, through ``keras.initializers.get``.  ``docs/keras.md`` has the
details.

Only varinit's public API is used here; ``import varinit`` never imports
this module or Keras.

Examples
--------
>>> import keras, numpy as np, varinit, varinit.keras as vk
>>> init = vk.GlorotUniform(seed=1)
>>> isinstance(init, keras.initializers.VarianceScaling), isinstance(init, varinit.GlorotUniform)
(True, True)
>>> x = keras.ops.convert_to_numpy(init((64, 32)))
>>> bool(np.array_equal(x, varinit.GlorotUniform(seed=1)((64, 32))))
True
>>> type(keras.initializers.get("varinit>HeNormal")).__module__
'varinit.keras'
"""
from __future__ import annotations

import copy
import functools
import importlib.util
import inspect
from typing import Any

try:
    import keras
except ImportError as exc:  # pragma: no cover - exercised without keras only
    if importlib.util.find_spec("keras") is None:
        raise ImportError("varinit.keras needs Keras 3: pip install keras") from exc
    raise ImportError(f"varinit.keras could not import keras ({exc}); Keras 3 needs a backend "
                      "that is installed: set KERAS_BACKEND to jax, torch, numpy or "
                      "tensorflow") from exc
if not hasattr(keras, "version") or int(keras.version().split(".")[0]) < 3:  # pragma: no cover
    raise ImportError("varinit.keras needs Keras 3 (found an older Keras): pip install -U keras")

import numpy as np

import varinit
from varinit.dtypes import resolve_dtype

__all__ = [
    "Initializer", "Zeros", "Ones", "Constant", "Identity", "IdentityInitializer",
    "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
    "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "Orthogonal", "OrthogonalInitializer",
    "zeros", "ones", "constant", "identity", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal",
    "PACKAGE", "NAMES", "convert", "get",
]

#: The package of the registered names: ``"varinit>GlorotUniform"``.
PACKAGE = "varinit"

# A buffer handed to a backend that can adopt host memory (jax on the CPU)
# is aligned to this many bytes, so the backend aliases it instead of copying.
_ALIGN = 64


# ---------------------------------------------------------------------------
# Backend tensors
# ---------------------------------------------------------------------------

def _aligned_empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``np.empty(shape, dtype)``, its data aligned to ``_ALIGN`` bytes."""
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    start = -raw.ctypes.data % _ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def _torch_tensor(init: "varinit.Initializer", shape: tuple[int, ...], dtype: str) -> Any:
    import torch

    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        return None
    # A numpy-allocated buffer (numpy asks the kernel for huge pages for big
    # arrays; torch.empty does not, and first-touch page faults cost more
    # than the fill) seen as a tensor of the dtype, zero-copy.
    itemsize = torch.empty((), dtype=torch_dtype).element_size()
    raw = _aligned_empty((int(np.prod(shape, dtype=np.int64)) * itemsize,), np.dtype(np.uint8))
    tensor = torch.from_numpy(raw).view(torch_dtype).reshape(shape)
    try:
        varinit.Initializer.__call__(init, shape, dtype, out=tensor)
    except TypeError:
        return None              # a dtype varinit writes only as numpy (unsigned integers)
    return keras.ops.convert_to_tensor(tensor)     # moved to Keras's device if not the CPU


def _backend_tensor(init: "varinit.Initializer", shape: Any, dtype: Any) -> Any:
    """``init(shape, dtype)`` as the current backend's tensor."""
    dtype = keras.backend.standardize_dtype(dtype if dtype is not None else keras.backend.floatx())
    shape = varinit.blocks.as_shape(shape)
    backend = keras.backend.backend()
    if backend == "numpy":
        return varinit.Initializer.__call__(init, shape, dtype)
    if backend == "torch":
        tensor = _torch_tensor(init, shape, dtype)
        if tensor is not None:
            return tensor
    elif backend == "jax":
        import jax

        # Written straight into an aligned host buffer, which jax's CPU
        # client adopts without a copy (other devices copy it once).
        out = _aligned_empty(shape, resolve_dtype(dtype))
        varinit.Initializer.__call__(init, shape, dtype, out=out)
        value = jax.device_put(out)
        return value if value.dtype == out.dtype else keras.ops.convert_to_tensor(out, dtype)
    return keras.ops.convert_to_tensor(varinit.Initializer.__call__(init, shape, dtype), dtype)


# ---------------------------------------------------------------------------
# The classes
# ---------------------------------------------------------------------------

class Initializer(varinit.Initializer, keras.initializers.Initializer):
    """Base class of this module's initializers: a varinit initializer that
    is a ``keras.initializers.Initializer`` and returns backend tensors.

    Subclasses are the varinit classes of the same name: ``block``, ``rows``,
    ``pinned``, ``varinit.save`` and the rest of varinit's API work on them
    as on the varinit class (and return numpy arrays).
    """

    def __call__(self, shape: Any = None, dtype: Any = None, *, out: Any = None) -> Any:
        """Generate a tensor of the current Keras backend.

        Parameters
        ----------
        shape : sequence of int
            Shape of the tensor.
        dtype : str or dtype, optional
            Any dtype Keras names (``"float32"``, ``"bfloat16"``, ...);
            default ``keras.backend.floatx()``.
        out : numpy.ndarray or torch.Tensor, optional
            varinit's in-place form: fill ``out`` and return it (then
            ``dtype`` defaults to ``out.dtype``, as in varinit).

        Returns
        -------
        tensor
            A numpy array (numpy backend), a ``jax.Array`` (jax; on the CPU
            it owns varinit's buffer, no copy), a ``torch.Tensor`` (torch;
            filled in place, no copy, then moved to Keras's device if that
            is not the CPU), or ``keras.ops.convert_to_tensor`` of the numpy
            array (other backends).  The values are bit for bit those of
            the varinit class's numpy array.

        Raises
        ------
        TypeError, ValueError
            As the varinit class.
        """
        if out is not None:
            return super().__call__(shape, dtype, out=out)
        if shape is None:
            raise TypeError(f"{type(self).__name__}() needs a shape")
        return _backend_tensor(self, shape, dtype)


#: varinit class -> the class of this module.
_KERAS_CLASS: dict[type, type] = {}


def _adopt_keras_seed(signature: inspect.Signature, args: tuple, kwargs: dict) -> tuple:
    """Replace a ``keras.random.SeedGenerator`` seed by varinit's equivalent
    (its serialized form, which varinit reads as a ``varinit.SeedGenerator``
    of the same root seed)."""
    bound = signature.bind_partial(None, *args, **kwargs)
    seed = bound.arguments.get("seed")
    if isinstance(seed, keras.random.SeedGenerator):
        bound.arguments["seed"] = keras.saving.serialize_keras_object(seed)
    return bound.args[1:], bound.kwargs


def _summary(cls: type) -> str:
    """The first line of a class's docstring, without its final period."""
    return (cls.__doc__ or cls.__name__).strip().splitlines()[0].rstrip(".")


def _make(base: type, keras_base: type) -> type:
    """The class of this module for the varinit class ``base``."""
    name = base.__name__
    namespace: dict[str, Any] = {
        "__module__": __name__, "__qualname__": name,
        "__doc__": (f"varinit's :class:`varinit.{name}` as a Keras initializer "
                    f"(``keras.initializers.{keras_base.__name__}`` subclass, registered as "
                    f"``\"{PACKAGE}>{name}\"``).\n\n"
                    "Same arguments, defaults, config and values as "
                    f"``varinit.{name}`` ({_summary(base)}); calling it returns the backend's "
                    "tensor (:meth:`Initializer.__call__`)."),
    }
    if issubclass(base, varinit.RandomInitializer):
        signature = inspect.signature(base.__init__)

        @functools.wraps(base.__init__)
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            args, kwargs = _adopt_keras_seed(signature, args, kwargs)
            base.__init__(self, *args, **kwargs)

        namespace["__init__"] = __init__
    if issubclass(base, varinit.VarianceScaling):

        def from_config(cls, config: dict) -> Any:
            """As ``varinit.VarianceScaling.from_config``; explicit axes
            given together with ``layout="torch"`` (what ``EinsumDense``
            passes when it sets the fan axes of its kernel) replace the
            layout: the layer's axes describe the actual kernel."""
            config = dict(config)
            if config.get("layout") == "torch" and (config.get("input_axes") is not None
                                                     or config.get("output_axes") is not None):
                del config["layout"]
            return super(cls_, cls).from_config(config)

        namespace["from_config"] = classmethod(from_config)
    cls_ = type(name, (Initializer, base, keras_base), namespace)
    keras.saving.register_keras_serializable(package=PACKAGE, name=name)(cls_)
    _KERAS_CLASS[base] = cls_
    return cls_


_K = keras.initializers
Zeros = _make(varinit.Zeros, _K.Zeros)
Ones = _make(varinit.Ones, _K.Ones)
Constant = _make(varinit.Constant, _K.Constant)
Identity = _make(varinit.Identity, _K.Identity)
RandomNormal = _make(varinit.RandomNormal, _K.RandomNormal)
RandomUniform = _make(varinit.RandomUniform, _K.RandomUniform)
TruncatedNormal = _make(varinit.TruncatedNormal, _K.TruncatedNormal)
VarianceScaling = _make(varinit.VarianceScaling, _K.VarianceScaling)
GlorotNormal = _make(varinit.GlorotNormal, _K.GlorotNormal)
GlorotUniform = _make(varinit.GlorotUniform, _K.GlorotUniform)
HeNormal = _make(varinit.HeNormal, _K.HeNormal)
HeUniform = _make(varinit.HeUniform, _K.HeUniform)
LecunNormal = _make(varinit.LecunNormal, _K.LecunNormal)
LecunUniform = _make(varinit.LecunUniform, _K.LecunUniform)
Orthogonal = _make(varinit.Orthogonal, _K.Orthogonal)
del _K

# Keras's module attributes: snake_case names and aliases are the same classes.
IdentityInitializer = Identity
OrthogonalInitializer = Orthogonal
zeros = Zeros
ones = Ones
constant = Constant
identity = Identity
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
orthogonal = Orthogonal


def _names() -> dict[str, type]:
    """Every name ``varinit.get`` takes (Keras's table: class names,
    snake_case names, aliases), mapped to the class of this module."""
    table = {}
    for name in varinit.__all__:
        obj = getattr(varinit, name)
        if isinstance(obj, type) and obj in _KERAS_CLASS:
            table[name] = _KERAS_CLASS[obj]
    for alias in ("normal", "uniform", "zero", "one"):
        table[alias] = _KERAS_CLASS[type(varinit.get(alias))]
    return table


#: Name (without the package) -> class; each is registered as ``"varinit>" + name``.
NAMES: dict[str, type] = _names()

# Lookup names beyond the canonical "varinit>ClassName" of each class:
# "varinit>glorot_uniform", "varinit>normal", ...  (get_custom_objects() is
# Keras's live registry of name -> class; only names are added).
keras.saving.get_custom_objects().update(
    {f"{PACKAGE}>{name}": cls for name, cls in NAMES.items()
     if f"{PACKAGE}>{name}" not in keras.saving.get_custom_objects()})

# A plain varinit initializer that reaches Keras's serialization anyway (a
# custom layer serializing its own attribute, say) is written under the
# registered name of its class here, so it loads as that class.  Registering
# the plain class first, then re-registering the class of this module under
# the same name, leaves the name pointing at the class of this module.
for _base, _cls in _KERAS_CLASS.items():
    keras.saving.register_keras_serializable(package=PACKAGE, name=_base.__name__)(_base)
    keras.saving.register_keras_serializable(package=PACKAGE, name=_base.__name__)(_cls)
del _base, _cls


# ---------------------------------------------------------------------------
# Conversion and lookup
# ---------------------------------------------------------------------------

def convert(init: Any) -> Any:
    """The Keras initializer of this module for a varinit initializer.

    Parameters
    ----------
    init : varinit.Initializer or class
        A built-in varinit initializer (an instance of a class this module
        has), or such a class.

    Returns
    -------
    Initializer or class
        For an instance: a copy of ``init`` whose class is this module's
        class of the same name: same parameters, same seed (the same drawn
        seed for an unseeded one, the same :class:`varinit.SeedGenerator`
        object, which the copy advances), same config, same values.  An
        instance of this module is returned as is.  For a class: this
        module's class.

    Raises
    ------
    TypeError
        For anything else, e.g. a custom ``varinit.Initializer`` subclass
        (register it with ``keras.saving.register_keras_serializable``
        yourself; it still works in Keras layers as a callable returning
        numpy arrays).

    Examples
    --------
    >>> import varinit, varinit.keras as vk
    >>> vk.convert(varinit.HeNormal(seed=3))
    HeNormal(seed=3, input_axes=None, output_axes=None)
    >>> type(vk.convert(varinit.HeNormal(seed=3))) is vk.HeNormal
    True
    """
    if isinstance(init, type):
        if issubclass(init, Initializer):
            return init
        if init in _KERAS_CLASS:
            return _KERAS_CLASS[init]
    elif isinstance(init, Initializer):
        return init
    elif type(init) in _KERAS_CLASS:
        converted = copy.copy(init)          # shares the seed source, as the original would
        converted.__class__ = _KERAS_CLASS[type(init)]
        return converted
    raise TypeError(f"convert() takes a built-in varinit initializer or its class, "
                    f"got {init!r}")


def get(identifier: Any) -> Any:
    """Retrieve an initializer as ``keras.initializers.get``, varinit's classes first.

    Parameters
    ----------
    identifier : None, str, dict, class, callable or tensor
        * ``None`` -> ``None``;
        * a name of varinit's table (``"glorot_uniform"``, ``"HeNormal"``,
          ``"normal"``, ..., case-sensitive, with or without the
          ``"varinit>"`` prefix) -> a new instance of this module's class;
        * a config dict (``{"class_name": name, "config": {...}}``, Keras's or
          varinit's, any ``module``) whose class name is such a name -> that
          class's ``from_config``;
        * a varinit initializer or class -> :func:`convert`;
        * anything else -> ``keras.initializers.get(identifier)``.

    Returns
    -------
    Initializer, callable or None

    Examples
    --------
    >>> import varinit.keras as vk
    >>> vk.get("he_normal").__class__ is vk.HeNormal
    True
    """
    if isinstance(identifier, str):
        name = identifier.removeprefix(f"{PACKAGE}>")
        if name in NAMES:
            return NAMES[name]()
    elif isinstance(identifier, dict) and isinstance(identifier.get("class_name"), str):
        name = identifier["class_name"].removeprefix(f"{PACKAGE}>")
        if name in NAMES:
            return NAMES[name].from_config(dict(identifier.get("config") or {}))
    elif isinstance(identifier, type) and (identifier in _KERAS_CLASS
                                           or issubclass(identifier, Initializer)):
        return convert(identifier)()
    elif isinstance(identifier, Initializer) or type(identifier) in _KERAS_CLASS:
        return convert(identifier)
    return _keras_get(identifier)


# ---------------------------------------------------------------------------
# Plain varinit initializers given to Keras
# ---------------------------------------------------------------------------

def _hook(keras_get: Any) -> Any:
    @functools.wraps(keras_get)
    def get_with_varinit(identifier: Any) -> Any:
        if isinstance(identifier, type) and identifier in _KERAS_CLASS:
            identifier = _KERAS_CLASS[identifier]
        elif type(identifier) in _KERAS_CLASS:
            return convert(identifier)
        return keras_get(identifier)

    get_with_varinit._varinit_original = keras_get        # type: ignore[attr-defined]
    return get_with_varinit


def _install_hook() -> Any:
    """Make ``keras.initializers.get`` (which Keras's layers and
    ``add_weight`` call on every initializer argument) convert plain varinit
    initializers and classes with :func:`convert`; everything else goes to
    Keras's own function unchanged.  Returns Keras's own function."""
    modules = [keras.initializers]
    try:  # where layers look it up (Keras 3 layout); absent elsewhere
        modules.append(importlib.import_module("keras.src.initializers"))
    except ImportError:  # pragma: no cover
        pass
    original = getattr(keras.initializers.get, "_varinit_original", keras.initializers.get)
    hooked = _hook(original)
    for module in modules:
        if getattr(module, "get", None) is not None:
            module.get = hooked
    return original


_keras_get = _install_hook()
