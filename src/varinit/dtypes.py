"""The dtype table: the one place that knows a dtype.

Every fact about an output dtype lives in one :class:`DType` row: its C
code, storage width, largest finite bit pattern, the stream it is computed
from (float16/bfloat16 are the float32 stream, rounded), and how file
formats spell it.  The fill API, the exact-rounding helpers, the
initializers, the file formats, dask and the command line all read it; none
keeps a dtype list of its own.  Adding a dtype is one row here plus its C
slots (``docs/architecture.md``).

Part of the API layer: numpy, the standard library and the Cython layer's
dtype codes only.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from numpy.typing import DTypeLike

from . import _core

__all__ = ["DType", "DTYPES", "FLOAT_DTYPES", "NO_KERNEL", "TABLE_DTYPES", "by_code",
           "lookup", "lookup_name", "resolve_dtype", "table_dtype"]


@dataclass(frozen=True)
class DType:
    """One output dtype."""

    name: str                 # numpy's name (``dtype.name``)
    code: int                 # the C layer's dtype code (``_core.DTYPE_*``)
    bits: int                 # storage width
    max_bits: int             # bit pattern of the largest finite value (0 for integers)
    stream: int               # code of the dtype the values are computed in
    npy_descr: str            # little-endian .npy descr of the stored bits
    safetensors: str | None   # safetensors dtype code
    ml_dtypes: str | None = None   # name of the ml_dtypes type, for dtypes numpy lacks
    mantissa: int = 0         # stored mantissa bits of a float (exponent: the rest but the sign)

    @property
    def is_float(self) -> bool:
        return self.max_bits != 0

    @property
    def itemsize(self) -> int:
        return self.bits // 8

    @property
    def numpy(self) -> np.dtype:
        """The native-endian numpy dtype (bfloat16 needs ``ml_dtypes``)."""
        if self.ml_dtypes is not None:
            return _ml_dtype(self.ml_dtypes)
        return np.dtype(self.name)

    @property
    def storage(self) -> np.dtype:
        """The unsigned integer dtype of its bit patterns, native-endian."""
        return np.dtype(f"u{self.itemsize}")


_F32 = _core.DTYPE_F32
NO_KERNEL = -1
DTYPES: tuple[DType, ...] = (
    DType("uint32", _core.DTYPE_U32, 32, 0, _core.DTYPE_U32, "<u4", "U32"),
    DType("float16", _core.DTYPE_F16, 16, 0x7BFF, _F32, "<f2", "F16", mantissa=10),
    # numpy has no bfloat16: .npy files store its bit patterns as uint16.
    DType("bfloat16", _core.DTYPE_BF16, 16, 0x7F7F, _F32, "<u2", "BF16", "bfloat16", 7),
    DType("float32", _F32, 32, 0x7F7FFFFF, _F32, "<f4", "F32", mantissa=23),
    DType("float64", _core.DTYPE_F64, 64, 0x7FEFFFFFFFFFFFFF, _core.DTYPE_F64, "<f8", "F64",
          mantissa=52),
    # float8 (ml_dtypes): e4m3fn has no infinities (largest 448), e5m2 does (largest 57344)
    DType("float8_e4m3fn", _core.DTYPE_F8E4M3, 8, 0x7E, _F32, "|u1", "F8_E4M3", "float8_e4m3fn",
          3),
    DType("float8_e5m2", _core.DTYPE_F8E5M2, 8, 0x7B, _F32, "|u1", "F8_E5M2", "float8_e5m2", 2),
    # No C kernel (code NO_KERNEL): constant initializers only, with numpy.
    DType("bool", NO_KERNEL, 8, 0, NO_KERNEL, "|b1", "BOOL"),
    DType("int8", NO_KERNEL, 8, 0, NO_KERNEL, "|i1", "I8"),
    DType("uint8", NO_KERNEL, 8, 0, NO_KERNEL, "|u1", "U8"),
    DType("int16", NO_KERNEL, 16, 0, NO_KERNEL, "<i2", "I16"),
    DType("uint16", NO_KERNEL, 16, 0, NO_KERNEL, "<u2", "U16"),
    DType("int32", NO_KERNEL, 32, 0, NO_KERNEL, "<i4", "I32"),
    DType("int64", NO_KERNEL, 64, 0, NO_KERNEL, "<i8", "I64"),
    DType("uint64", NO_KERNEL, 64, 0, NO_KERNEL, "<u8", "U64"),
)
_BY_NAME = {d.name: d for d in DTYPES}
_BY_CODE = {d.code: d for d in DTYPES if d.code != NO_KERNEL}

#: The dtypes random fills write.
FLOAT_DTYPES = tuple(d for d in DTYPES if d.is_float)
#: Names of the dtypes a table (a file or a dask array) can be generated in:
#: the floats for every initializer, the integers and bool for constants.
TABLE_DTYPES = tuple(d.name for d in DTYPES)
_FLOAT_TABLE = [d.name for d in FLOAT_DTYPES]
#: "float16, bfloat16, ... or float8_e5m2", for messages.
FLOAT_NAMES = ", ".join(_FLOAT_TABLE[:-1]) + " or " + _FLOAT_TABLE[-1]


def _ml_dtype(name: str) -> np.dtype:
    try:
        import ml_dtypes
    except ImportError:  # pragma: no cover - ml_dtypes is a test dependency
        raise TypeError(f"dtype {name} needs the ml_dtypes package "
                        "(pip install ml_dtypes)") from None
    return np.dtype(getattr(ml_dtypes, name))


def lookup_name(name: str) -> DType:
    """The row named ``name`` (numpy's ``dtype.name``)."""
    return _BY_NAME[name]


def by_code(code: int) -> DType:
    """The row of C dtype code ``code``."""
    return _BY_CODE[code]


def lookup(dtype: np.dtype) -> DType | None:
    """The row of a numpy dtype of either byte order, or ``None`` if varinit
    does not generate it."""
    row = _BY_NAME.get(dtype.name)
    if row is None or dtype.itemsize != row.itemsize:
        return None
    if row.ml_dtypes is None and dtype.kind not in "buif":
        return None
    return row


def codes(rows: tuple[DType, ...] = DTYPES) -> dict[str, int]:
    """``{dtype name: C code}`` for ``rows``, as the ``out=`` checker of the
    Cython layer takes it.  Keyed by name, so that checking a buffer never
    imports ``ml_dtypes`` (about a second): a bfloat16 array exists only if
    its owner imported it."""
    return {row.name: row.code for row in rows}


def resolve_dtype(dtype: DTypeLike | None) -> np.dtype:
    """Resolve a ``dtype`` argument.

    Parameters
    ----------
    dtype : dtype-like or None
        ``None`` means float32; a name of the table (``"bfloat16"``) or a
        torch dtype (``torch.bfloat16``) means that dtype; anything else
        goes through ``numpy.dtype``.

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
    if isinstance(dtype, str) and dtype in _BY_NAME:
        return _BY_NAME[dtype].numpy
    if _is_torch_dtype(dtype):
        name = str(dtype).removeprefix("torch.")
        if name not in _BY_NAME:
            raise TypeError(f"dtype {dtype} is not one varinit generates")
        return _BY_NAME[name].numpy
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype {dtype!r} is not a numpy dtype") from None


def _is_torch_dtype(dtype: object) -> bool:
    # Recognised by its type's name, so that resolving a dtype never imports torch.
    return type(dtype).__module__ == "torch" and type(dtype).__name__ == "dtype"


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
        One of :data:`TABLE_DTYPES`, in native byte order (whether the
        initializer can generate it is the initializer's to say).

    Raises
    ------
    TypeError
        If ``dtype`` is not a numpy dtype or not one of :data:`TABLE_DTYPES`.
    ValueError
        If ``dtype`` has non-native byte order: varinit writes native-endian
        values only, as everywhere else.
    """
    resolved = resolve_dtype(dtype)
    row = lookup(resolved)
    if row is None:
        raise TypeError(f"unsupported dtype {resolved}: tables are {FLOAT_NAMES}, "
                        "or an integer or bool dtype for constant initializers")
    if not resolved.isnative:
        raise ValueError(f"dtype {resolved.str} has non-native byte order; "
                         "varinit writes native-endian values only")
    return resolved


def native_descr(row: DType) -> str:
    """The ``.npy`` descr of ``row``'s stored bits in this machine's byte order."""
    return row.npy_descr if sys.byteorder == "little" else ">" + row.npy_descr[1:]
