"""varinit: neural-network weight initializers that fill huge numpy buffers
with PCG32 lane streams in C, multi-threaded, reproducibly.

The same seed gives the same bits whatever the thread count, CPU path,
chunking or sharding; ``docs/stream.md`` defines the stream.
"""
import importlib
from typing import Any

from . import _core, _dispatch, _fill, blocks, contrib
from ._config import deserialize, get, serialize
from ._core import PCG32
from ._dispatch import use_kernel
from ._fans import compute_fans
from ._fill import *  # the fill functions: _fill.__all__ is their one list
from ._seeds import SeedGenerator, derive_seed
from ._threads import get_num_threads, num_threads, set_num_threads
from ._version import __version__
from .initializers import (
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, IdentityInitializer,
    Initializer, LecunNormal, LecunUniform, Ones, Orthogonal, OrthogonalInitializer,
    RandomInitializer, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling, Zeros, constant,
    glorot_normal, glorot_uniform, he_normal, he_uniform, identity, lecun_normal,
    lecun_uniform, ones, orthogonal, random_normal, random_uniform, truncated_normal,
    variance_scaling, zeros,
)

STREAM_VERSION: int = _core.STREAM_VERSION
BLOCK: int = _core.BLOCK
LANES: int = _core.LANES

__all__ = [
    "__version__", "STREAM_VERSION", "BLOCK", "LANES", "PCG32",
    *_fill.__all__,
    "get_num_threads", "set_num_threads", "num_threads", "use_kernel", "runtime_info",
]

# Keras-compatible initializers (docs/initializers.md).
__all__ += [
    "Initializer", "RandomInitializer", "Zeros", "Ones", "Constant", "Identity", "IdentityInitializer",
    "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
    "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "LecunNormal", "LecunUniform",
    "Orthogonal", "OrthogonalInitializer",
    "zeros", "ones", "constant", "identity", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "lecun_normal", "lecun_uniform", "orthogonal",
    "compute_fans", "SeedGenerator", "derive_seed", "get", "serialize", "deserialize",
    "contrib", "blocks",
]

# Huge tables: streaming files with provenance (docs/huge-tables.md).  The
# integrations load on first use: ``import varinit`` imports none of them.
__all__ += ["save", "verify"]

_LAZY_MODULES = ("io", "dask", "cli", "benchmarks", "torch", "jax", "keras")
_LAZY_ATTRIBUTES = {"save": "io", "verify": "io"}


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _LAZY_ATTRIBUTES:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY_ATTRIBUTES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY_MODULES) | set(_LAZY_ATTRIBUTES))


def runtime_info() -> dict:
    """Describe this installation: versions, stream, threads and kernel path.

    Returns
    -------
    dict
        ``version``, ``stream_version``, ``threads`` (as :func:`get_num_threads`),
        ``kernel`` (the code path fills use: ``"scalar"``, ``"avx2"`` or
        ``"avx512"``), ``kernels_available``, ``cpu_features``, ``block``
        and ``lanes``.

    Examples
    --------
    >>> import varinit
    >>> varinit.runtime_info()["stream_version"] == varinit.STREAM_VERSION
    True
    """
    return {
        "version": __version__,
        "stream_version": STREAM_VERSION,
        "threads": get_num_threads(),
        "kernel": _dispatch.active_kernel(),
        "kernels_available": _dispatch.available_kernels(),
        "cpu_features": _core.cpu_features(),
        "block": BLOCK,
        "lanes": LANES,
    }
