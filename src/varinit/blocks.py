"""The block protocol: generating any box of a tensor on its own.

Everything blockwise in varinit — :meth:`Initializer.block`,
:meth:`Initializer.rows`, ``init(out=np.memmap(...))``, :func:`varinit.save`,
:func:`varinit.io.verify`, :func:`varinit.dask.from_initializer` and the
framework integrations' sharding — goes through one method of
:class:`varinit.Initializer`::

    def fill_block(self, out, box, shape, seed): ...

"write the elements ``box`` of the full tensor of shape ``shape`` into
``out``, for the fill seed ``seed``".  A custom initializer implements just
that method (``docs/architecture.md`` has a worked example) and gets the
rest; the built-in ones implement it with the fill API's ``offset=``.

A consumer checks the initializer (:func:`check_blockwise`, :func:`probe`),
pins its seed once (:meth:`Initializer.pinned`), records it if it must
(:func:`pinned_config`), then asks for boxes in any order, from any thread
or process (``pinned.block(shape, index, dtype, out=...)``): the value at an
index depends only on (initializer, seed, shape, dtype, index).  The box
and window helpers the consumers share are here too.
"""
from __future__ import annotations

import json

from ._boxes import (
    MAPPED_THRESHOLD, MAPPED_WINDOW, BlockIndex, Box, Window, as_box, box_runs, box_shape,
    box_slices, fill_windowed, full_box, probe, windows,
)
from ._config import serialize
from ._fans import as_shape
from .initializers import Initializer

__all__ = ["Box", "BlockIndex", "as_box", "as_shape", "full_box", "box_shape", "box_slices",
           "box_runs", "Window", "windows", "fill_windowed", "check_blockwise", "probe",
           "pinned_config", "MAPPED_THRESHOLD", "MAPPED_WINDOW"]


# ---------------------------------------------------------------------------
# What consumers check before they start
# ---------------------------------------------------------------------------

def check_blockwise(init: object) -> None:
    """Check ``init`` is an initializer the protocol can drive.

    Parameters
    ----------
    init : object

    Raises
    ------
    TypeError
        If ``init`` is not a :class:`varinit.Initializer`.
    """
    if not isinstance(init, Initializer):
        raise TypeError(f"expected a varinit initializer (a varinit.Initializer, with "
                        f".block()), got {type(init).__name__}")


def pinned_config(pinned: Initializer) -> dict:
    """:func:`serialize` of a pinned initializer, as plain JSON data.

    Parameters
    ----------
    pinned : Initializer
        A result of :meth:`Initializer.pinned`.

    Returns
    -------
    dict
        Its config; the seed is the integer fill seed, so
        :func:`deserialize` of the result regenerates exactly what
        ``pinned.block`` produces.

    Raises
    ------
    ValueError
        If the config's seed is not an integer.
    """
    config = json.loads(json.dumps(serialize(pinned)))   # a JSON-safe deep copy
    seed = config.get("config", {}).get("seed")
    if seed is not None and not isinstance(seed, int):
        raise ValueError(f"cannot record the seed of {type(pinned).__name__}: its config has "
                         f"seed={seed!r}, not an integer fill seed")
    return config
