"""``.safetensors``: several tensors, little-endian data, provenance in the
header's ``__metadata__``.

Layout: 8-byte little-endian header length, the JSON header padded with
spaces so the data starts 8-byte aligned, then the data.  The dtype codes
(``F16``, ``BF16``, ...) are the dtype table's ``safetensors`` column.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...dtypes import DType
from ._base import FileFormat, LayoutEntry, Tensor

#: Longest JSON header accepted when reading.
MAX_HEADER = 100 << 20


class SafetensorsFormat(FileFormat):
    """``.safetensors`` files, as the ``safetensors`` package reads them."""

    name = "safetensors"
    suffix = ".safetensors"
    byteorder = "little"

    def dtype_code(self, row: DType) -> str | None:
        return row.safetensors

    def place(self, tensors: Sequence[Tensor]) -> list[Tensor]:
        # Largest items first keeps every tensor aligned to its item size.
        return super().place(sorted(tensors, key=lambda t: -t.dtype.itemsize))

    def header(self, tensors: Sequence[Tensor], record: dict) -> bytes:
        metadata = {"format": "pt", "varinit": json.dumps(record)}
        header: dict[str, Any] = {"__metadata__": metadata}
        for t in tensors:
            header[t.name] = {"dtype": self.dtype_code(t.row), "shape": list(t.shape),
                              "data_offsets": [t.begin, t.begin + t.nbytes]}
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-(8 + len(text)) % 8)     # data starts 8-byte aligned
        return len(text).to_bytes(8, "little") + text

    def read_layout(self, path: str, record: dict) -> tuple[dict[str, LayoutEntry], int]:
        header, data_start = read_safetensors_header(path)
        return {k: v for k, v in header.items() if k != "__metadata__"}, data_start

    def read_provenance(self, path: str) -> dict:
        header, _ = read_safetensors_header(path)
        text = (header.get("__metadata__") or {}).get("varinit")
        if text is None:
            raise ValueError(f"{path} has no varinit provenance in its __metadata__")
        return json.loads(text)


def read_safetensors_header(path: str) -> tuple[dict, int]:
    """(JSON header, data offset) of a ``.safetensors`` file."""
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) != 8:
            raise ValueError(f"{path} is not a safetensors file (too short)")
        n = int.from_bytes(raw, "little")
        if n > MAX_HEADER:
            raise ValueError(f"{path} is not a safetensors file (header length {n})")
        text = f.read(n)
    try:
        header = json.loads(text)
    except ValueError:
        raise ValueError(f"{path} is not a safetensors file (bad JSON header)") from None
    return header, 8 + n
