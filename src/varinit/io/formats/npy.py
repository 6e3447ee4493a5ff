"""``.npy``: one array, numpy's header, provenance in a JSON sidecar.

The header spells a dtype with the table's ``npy_descr`` in this host's byte
order.  A dtype numpy lacks (bfloat16) has the descr of its bit patterns
(``<u2``), so ``np.load`` returns the bits and :func:`load_npy` views them
as the dtype the sidecar records.
"""
from __future__ import annotations

import io as _stdio
import json
import os
from collections.abc import Sequence
from typing import Literal

import numpy as np

from ...dtypes import DTYPES, DType, native_descr
from ._base import FileFormat, LayoutEntry, PathLike, Tensor, nbytes, sidecar_path


class NpyFormat(FileFormat):
    """``.npy`` files (format version 1.0, or 2.0 for headers over 64 KiB)."""

    name = "npy"
    suffix = ".npy"
    sidecar = True

    def dtype_code(self, row: DType) -> np.dtype:
        return np.dtype(native_descr(row))

    def check_tensors(self, tensors: Sequence[Tensor]) -> None:
        if len(tensors) != 1:
            raise ValueError(".npy files hold one array: use .safetensors for several tensors")

    def header(self, tensors: Sequence[Tensor], record: dict) -> bytes:
        t, = tensors
        header = {"descr": native_descr(t.row), "fortran_order": False, "shape": t.shape}
        buf = _stdio.BytesIO()
        try:
            np.lib.format.write_array_header_1_0(buf, header)
        except ValueError:  # header longer than 64 KiB: very high rank
            buf = _stdio.BytesIO()
            np.lib.format.write_array_header_2_0(buf, header)
        return buf.getvalue()

    def sidecar_record(self, tensors: Sequence[Tensor], record: dict, header: bytes) -> dict:
        return {**record, "npy_data_offset": len(header)}

    def read_layout(self, path: str, record: dict) -> tuple[dict[str, LayoutEntry], int]:
        shape, dtype, data_start = read_npy_header(path)
        # The header names no tensor: the file's one array is the record's one.
        name = next(iter(record["tensors"]))
        entry = LayoutEntry(shape=list(shape), dtype=dtype,
                            data_offsets=[0, nbytes(shape, dtype)])
        return {name: entry}, data_start


def read_npy_header(path: str) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of a C-order ``.npy`` file."""
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if fortran:
            raise ValueError(f"{path} is in Fortran order; varinit writes C order")
        return tuple(shape), dtype, f.tell()


def _stored_as_bits(row: DType) -> bool:
    """Whether ``.npy`` files hold ``row``'s bit patterns rather than the dtype."""
    return np.dtype(row.npy_descr).name != row.name


def load_npy(path: PathLike,
             mmap_mode: Literal["r", "r+", "c"] | None = None) -> np.ndarray:
    """Load a ``.npy`` file written by :func:`save`, restoring bfloat16.

    ``np.load`` reads every other dtype directly; bfloat16 data is stored as
    ``uint16`` bit patterns (numpy has no bfloat16), which this function views
    as ``ml_dtypes.bfloat16`` when the sidecar says so.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npy`` file.
    mmap_mode : {None, "r", "r+", "c"}, optional
        As for :func:`numpy.load` (use ``"r"`` for tables larger than RAM).

    Returns
    -------
    numpy.ndarray
        The table (a ``numpy.memmap`` with ``mmap_mode``).
    """
    array = np.load(os.fspath(path), mmap_mode=mmap_mode)
    side = sidecar_path(path)
    rows = [r for r in DTYPES if _stored_as_bits(r) and array.dtype == np.dtype(native_descr(r))]
    if rows and os.path.exists(side):
        with open(side, encoding="utf-8") as f:
            record = json.load(f)
        dtypes = {t.get("dtype") for t in record.get("tensors", {}).values()}
        for row in rows:
            if dtypes == {row.name}:
                array = array.view(row.numpy)
                break
    return array
