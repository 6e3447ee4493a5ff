"""The file-format interface: what :func:`varinit.save` and
:func:`varinit.io.verify` ask of a format, and what all formats share."""
from __future__ import annotations

import errno
import json
import math
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypedDict, Union

import numpy as np

from ...dtypes import DType, lookup

PathLike = Union[str, "os.PathLike[str]"]

_SIDECAR_SUFFIX = ".varinit.json"


def nbytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    """Bytes of a C-order table of ``shape`` and ``dtype``."""
    return math.prod(shape) * dtype.itemsize


def sidecar_path(path: PathLike) -> str:
    """Path of the JSON provenance sidecar of a ``.npy`` file.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npy`` file.

    Returns
    -------
    str
        ``path`` with ``".varinit.json"`` appended, e.g. ``table.npy.varinit.json``.
    """
    return os.fspath(path) + _SIDECAR_SUFFIX


@dataclass
class Tensor:
    """One table of a file: what to generate, and where its data goes.

    Attributes
    ----------
    name : str
        Tensor name (unique in the file).
    init : Initializer
        The pinned initializer (:meth:`varinit.Initializer.pinned`).
    shape : tuple of int
    dtype : numpy.dtype
        Native byte order, one of :data:`varinit.dtypes.TABLE_DTYPES`.
    config : dict
        :func:`varinit.blocks.pinned_config` of ``init``.
    begin : int
        Byte offset of its data from the start of the file's data, set by
        :meth:`FileFormat.place`.
    """

    name: str
    init: Any
    shape: tuple[int, ...]
    dtype: np.dtype
    config: dict
    begin: int = 0

    @property
    def nbytes(self) -> int:
        """Bytes of its data."""
        return nbytes(self.shape, self.dtype)

    @property
    def row(self) -> DType:
        """Its row of the dtype table."""
        row = lookup(self.dtype)
        assert row is not None, self.dtype     # table_dtype() admitted it
        return row

    def record(self) -> dict:
        """Its entry in the provenance record."""
        seed = self.config.get("config", {}).get("seed")
        return {"initializer": self.config, "seed": seed, "shape": list(self.shape),
                "dtype": self.dtype.name}


class LayoutEntry(TypedDict):
    """How a file describes one tensor, as :meth:`FileFormat.read_layout`
    returns it (the spelling of a safetensors header entry)."""

    shape: list[int]
    dtype: Any                    # as FileFormat.dtype_code spells it
    data_offsets: list[int]       # [begin, end) from the start of the data


class FileFormat(ABC):
    """A file format :func:`varinit.save` can write and
    :func:`varinit.io.verify` can check.

    A format is a header (possibly empty) followed by the tensors' data, each
    contiguous, C order, at the offsets :meth:`place` chose.  The data
    itself is written, read and compared by varinit; a format only says how
    the header and the provenance record look.  Subclass it, set the class
    attributes, implement the abstract methods, and register an instance
    with :func:`varinit.io.formats.register`.

    Attributes
    ----------
    name : str
        Short name, recorded as the provenance's ``"file_format"``.
    suffix : str
        File-name suffix that selects the format, lower case, with the dot.
    sidecar : bool
        Where the provenance lives: True, in the JSON file
        :func:`sidecar_path` beside the data; False, in the file's header
        (then :meth:`header` embeds it and :meth:`read_provenance` must be
        overridden).
    byteorder : {"little", "big"} or None
        The byte order the format prescribes for its data, or None for the
        host's (the header says which).
    """

    name: ClassVar[str]
    suffix: ClassVar[str]
    sidecar: ClassVar[bool] = False
    byteorder: ClassVar[Literal["little", "big"] | None] = None

    @property
    def swap(self) -> bool:
        """Whether the data is byte-swapped between memory and the file on this host."""
        return self.byteorder is not None and self.byteorder != sys.byteorder

    # -- dtypes ------------------------------------------------------------

    @abstractmethod
    def dtype_code(self, row: DType) -> Any:
        """The header's spelling of a dtype, from its row of the dtype table.

        Parameters
        ----------
        row : varinit.dtypes.DType

        Returns
        -------
        object
            What :meth:`header` writes and :meth:`read_layout` reads back
            as the tensor's ``"dtype"``; compared with ``!=``.
        """

    # -- writing -----------------------------------------------------------

    def check_tensors(self, tensors: Sequence[Tensor]) -> None:
        """Raise ``ValueError`` if the format cannot hold these tensors (all
        are accepted by default)."""

    def place(self, tensors: Sequence[Tensor]) -> list[Tensor]:
        """Lay the tensors out: set each ``begin``, return them in file order.

        The default puts them one after the other, in the given order.
        """
        offset = 0
        placed = list(tensors)
        for t in placed:
            t.begin = offset
            offset += t.nbytes
        return placed

    @abstractmethod
    def header(self, tensors: Sequence[Tensor], record: dict) -> bytes:
        """Everything before the data.

        Parameters
        ----------
        tensors : sequence of Tensor
            In file order, placed.
        record : dict
            The provenance record, to embed if the format keeps it in the
            header (``sidecar`` False); JSON data.

        Returns
        -------
        bytes
            The data starts right after it.
        """

    def sidecar_record(self, tensors: Sequence[Tensor], record: dict, header: bytes) -> dict:
        """What the sidecar holds, for ``sidecar`` formats: ``record`` and
        anything the format adds, such as a layout its header lacks (the
        default adds nothing).

        Parameters
        ----------
        tensors : sequence of Tensor
            In file order, placed.
        record : dict
            The provenance record.
        header : bytes
            What :meth:`header` returned.

        Returns
        -------
        dict
            JSON data.
        """
        return record

    def encode(self, tensors: Sequence[Tensor], record: dict) -> tuple[bytes, bytes | None]:
        """The header and, for ``sidecar`` formats, the sidecar's bytes."""
        head = self.header(tensors, record)
        if not self.sidecar:
            return head, None
        side = self.sidecar_record(tensors, record, head)
        return head, json.dumps(side, indent=2, sort_keys=True).encode() + b"\n"

    # -- reading -----------------------------------------------------------

    @abstractmethod
    def read_layout(self, path: str, record: dict) -> tuple[dict[str, LayoutEntry], int]:
        """Read the header back.

        Parameters
        ----------
        path : str
        record : dict
            The file's provenance (:meth:`read_provenance`), for formats
            whose header does not name the tensors.

        Returns
        -------
        (dict of str to LayoutEntry, int)
            The tensors the file describes, and the byte offset where the
            data starts.

        Raises
        ------
        ValueError
            If the file is not of this format.
        """

    def read_provenance(self, path: str) -> dict:
        """The provenance record stored with the file; the default reads the
        sidecar.

        Raises
        ------
        FileNotFoundError
            If the file or its sidecar is missing.
        ValueError
            If the file has no provenance.
        """
        if not self.sidecar:
            raise NotImplementedError(f"{type(self).__name__} keeps its provenance in the "
                                      "header: it must override read_provenance")
        side = sidecar_path(path)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, f"no such file: {path}")
        if not os.path.exists(side):
            raise FileNotFoundError(errno.ENOENT, f"{path} has no provenance sidecar {side}")
        with open(side, encoding="utf-8") as f:
            return json.load(f)
