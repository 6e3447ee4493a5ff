"""dtype arguments: the one place a ``dtype=`` argument is resolved.

Part of the API layer (numpy and the standard library only), so the
initializers and the integrations (:mod:`varinit.io`, :mod:`varinit.dask`,
the command line) all resolve dtypes the same way.
"""
from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike

__all__ = ["resolve_dtype", "table_dtype", "TABLE_DTYPES"]

#: Names of the dtypes a table (a file or a dask array) can be generated in.
TABLE_DTYPES = ("float16", "bfloat16", "float32", "float64")


def _bfloat16() -> np.dtype:
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - ml_dtypes is a test dependency
        raise TypeError("dtype bfloat16 needs the ml_dtypes package "
                        "(pip install ml_dtypes)") from None
    return np.dtype(ml_dtypes.bfloat16)


def resolve_dtype(dtype: DTypeLike | None) -> np.dtype:
    """Resolve a ``dtype`` argument.

    Parameters
    ----------
    dtype : dtype-like or None
        ``None`` means float32; the string ``"bfloat16"`` means
        ``ml_dtypes.bfloat16``; anything else goes through ``numpy.dtype``.

    Returns
    -------
    numpy.dtype

    Raises
    ------
    TypeError
        If ``dtype`` is not a numpy dtype (or bfloat16 without ``ml_dtypes``).
    """
    if dtype is None:
        return np.dtype(np.float32)
    if isinstance(dtype, str) and dtype == "bfloat16":
        return _bfloat16()
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype {dtype!r} is not a numpy dtype") from None


def table_dtype(dtype: DTypeLike | None) -> np.dtype:
    """Resolve the ``dtype`` of a whole table (:func:`varinit.save`,
    :func:`varinit.dask.from_initializer`).

    Parameters
    ----------
    dtype : dtype-like or None
        As for :func:`resolve_dtype`.

    Returns
    -------
    numpy.dtype
        float16, bfloat16, float32 or float64, in native byte order.

    Raises
    ------
    TypeError
        If ``dtype`` is not a numpy dtype or not one of :data:`TABLE_DTYPES`.
    ValueError
        If ``dtype`` has non-native byte order: varinit writes native-endian
        values only, as everywhere else.
    """
    resolved = resolve_dtype(dtype)
    if resolved.name not in TABLE_DTYPES:
        raise TypeError(f"unsupported dtype {resolved}: tables are float16, bfloat16, "
                        "float32 or float64")
    if not resolved.isnative:
        raise ValueError(f"dtype {resolved.str} has non-native byte order; "
                         "varinit writes native-endian values only")
    return resolved
