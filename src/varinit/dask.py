"""dask arrays of initial weights, generated chunk by chunk where they are computed.

Each chunk is produced independently by ``init.block(shape, index, dtype)``
with one varinit thread (dask's workers are the parallelism, so the two
thread pools do not oversubscribe).  The value at an index depends only on
(seed, initializer, dtype, index), so the computed array equals
``init(shape, dtype)`` bit for bit for any chunking and any scheduler,
including ``dask.distributed``.

dask is an optional dependency (``pip install "varinit[dask]"``); importing
:mod:`varinit` never imports it.
"""
from __future__ import annotations

import functools
import json
import math
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _threads
from .dtypes import table_dtype
from .blocks import as_shape, check_blockwise, pinned_config, probe

if TYPE_CHECKING:  # pragma: no cover
    import dask.array

try:
    import dask.array as _da
    from dask.base import tokenize as _tokenize
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError("varinit.dask needs dask: pip install 'varinit[dask]' "
                      "(dask[array] and distributed)") from _exc

__all__ = ["from_initializer"]


def _chunk(spec: Any, shape: tuple[int, ...], dtype: np.dtype, block_info: Any = None) -> np.ndarray:
    """Generate the chunk dask asks for, on one varinit thread."""
    init = _rebuild(spec) if isinstance(spec, str) else spec
    location = block_info[None]["array-location"]
    index = tuple(slice(a, b) for a, b in location)
    with _threads.num_threads(1):
        return init.block(shape, index, dtype)


@functools.lru_cache(maxsize=64)
def _rebuild(config_json: str) -> Any:
    import varinit
    return varinit.deserialize(json.loads(config_json))


def _spec(pinned: Any) -> Any:
    """What travels in the graph for a pinned
    initializer (:meth:`varinit.Initializer.pinned`): its config (the seed is the int fill seed) as JSON text, small and
    picklable, or the pinned initializer itself if it cannot be rebuilt from
    its config (a custom class, or one with a config that is not JSON)."""
    try:
        text = json.dumps(pinned_config(pinned), sort_keys=True)
        if type(_rebuild(text)) is type(pinned):
            return text
    except (TypeError, ValueError):    # not serializable, or not rebuildable by name
        pass
    return pinned


def from_initializer(init: Any, shape: Sequence[int] | int, chunks: Any = "auto",
                     dtype: Any = None) -> "dask.array.Array":
    """A dask array equal to ``init(shape, dtype)``, generated lazily by chunks.

    Parameters
    ----------
    init : Initializer
        A varinit initializer that supports ``block`` (every one but
        Orthogonal).
    shape : sequence of int or int
        Shape of the whole array.
    chunks : int, tuple, dict or "auto", optional
        Any chunk specification :func:`dask.array.normalize_chunks` accepts;
        ``"auto"`` uses dask's ``array.chunk-size`` setting.
    dtype : dtype-like, optional
        float16, ``"bfloat16"``, float32 (default) or float64.

    Returns
    -------
    dask.array.Array
        Each chunk is computed by ``init.block`` with one varinit thread;
        the result equals ``init(shape, dtype)`` bit for bit whatever the
        chunks or the scheduler.  The graph carries the initializer's config
        with its seed pinned (``varinit.serialize``, seed = the fill seed the
        next call would use), rebuilt on each worker with
        ``varinit.deserialize``; a custom initializer that cannot be rebuilt
        that way travels pickled, as a copy with the same pinned seed.
        Advancing a ``SeedGenerator`` after this call does not change the
        array.

    Raises
    ------
    TypeError, ValueError
        For a bad shape, dtype or initializer, at once.
    NotImplementedError
        For an initializer that cannot be generated blockwise.

    Examples
    --------
    >>> import varinit, varinit.dask  # doctest: +SKIP
    >>> x = varinit.dask.from_initializer(varinit.GlorotUniform(seed=0),
    ...                                   (100_000, 64), chunks=(10_000, 64))  # doctest: +SKIP
    >>> x.to_zarr("table.zarr")  # doctest: +SKIP
    """
    check_blockwise(init)
    shape = as_shape(shape)
    dtype = table_dtype(dtype)
    probe(init, shape, dtype)
    normalized = _da.core.normalize_chunks(chunks, shape, dtype=dtype) if shape else ()
    pinned = init.pinned()
    spec = _spec(pinned)
    # A config names the values; an object travelling pickled gets a name of its own.
    token = spec if isinstance(spec, str) else ("object", uuid.uuid4().hex)
    name = "varinit-" + _tokenize(token, shape, dtype.str, dtype.name, normalized)
    meta = np.empty((0,) * len(shape), dtype)
    if math.prod(shape) == 0 or not shape:
        # map_blocks needs at least one axis; a 0-d or empty array is tiny.
        with _threads.num_threads(1):
            value = pinned.block(shape, tuple(slice(0, d) for d in shape), dtype)
        return _da.from_array(value, chunks=normalized if shape else (), name=name)
    func = functools.partial(_chunk, spec, shape, dtype)
    return _da.map_blocks(func, chunks=normalized, dtype=dtype, meta=meta, name=name)
