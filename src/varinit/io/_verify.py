"""Reading files back: the provenance record, and verify (regenerate every
window from the record and compare it with the file, in worker threads)."""
from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import STREAM_VERSION, __version__, deserialize
from ..blocks import Window, windows
from ..dtypes import lookup, table_dtype
from ._atomic import pread_into, publish_lock
from ._save import PROVENANCE_FORMAT
from ._workers import Progress, ProgressArg, plan_workers, run_parallel
from .formats import FileFormat, Tensor, for_path
from .formats._base import PathLike, nbytes


def provenance(path: PathLike) -> dict:
    """Read the provenance record varinit stored with a file.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file written by :func:`save`, or a ``.npy`` file
        with its sidecar.

    Returns
    -------
    dict
        ``format``, ``file_format``, ``varinit_version``, ``stream_version``,
        ``created`` and ``tensors`` (name → ``initializer`` config with an
        integer seed, ``seed``, ``shape``, ``dtype``).

    Raises
    ------
    ValueError
        If the file has no varinit provenance.
    FileNotFoundError
        If the file (or the ``.npy`` sidecar) is missing.
    """
    path = os.fspath(path)
    record = for_path(path).read_provenance(path)
    if record.get("format") != PROVENANCE_FORMAT:
        raise ValueError(f"{path}: unknown provenance format {record.get('format')!r}")
    return record


@dataclass
class TensorReport:
    """Result of verifying one tensor.

    Attributes
    ----------
    name : str
        Tensor name (``"weight"``-like for ``.npy``).
    ok : bool
        True when every byte equals the regenerated table.
    mismatched_bytes : int
        Number of differing bytes (0 when ``ok``), over compared windows.
    first_mismatch : int or None
        Flat index of the first differing element, if any.
    problem : str or None
        Why the tensor could not be compared (header/provenance disagreement,
        stream version), if so.
    other_stream : int or None
        The stream version the file was written by, when it is not this
        varinit's: the tensor is not checked (which says nothing about damage).
    """

    name: str
    ok: bool
    mismatched_bytes: int = 0
    first_mismatch: int | None = None
    problem: str | None = None
    other_stream: int | None = None


@dataclass
class VerifyReport:
    """Result of :func:`verify`; true when the whole file matched.

    Attributes
    ----------
    path : str
        The verified file.
    tensors : dict of str to TensorReport
        Per-tensor results.
    provenance : dict
        The record read from the file.
    """

    path: str
    tensors: dict[str, TensorReport] = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every tensor matched."""
        return bool(self.tensors) and all(t.ok for t in self.tensors.values())

    def __bool__(self) -> bool:
        return self.ok

    @property
    def status(self) -> str:
        """``"OK"``; ``"NOT CHECKED"`` when the only obstacle is a file written
        by another stream version; else ``"FAILED"``."""
        if self.ok:
            return "OK"
        failed = [t for t in self.tensors.values() if not t.ok]
        if failed and all(t.other_stream is not None for t in failed):
            return "NOT CHECKED"
        return "FAILED"

    def summary(self) -> str:
        """Describe the result for people.

        Returns
        -------
        str
            One line per tensor: ``ok``, the number of mismatched bytes and
            the first mismatching element, or the problem found.
        """
        lines = []
        for t in self.tensors.values():
            if t.ok:
                lines.append(f"{t.name}: OK")
            elif t.other_stream is not None:
                lines.append(f"{t.name}: NOT CHECKED ({t.problem})")
            elif t.problem:
                lines.append(f"{t.name}: FAILED ({t.problem})")
            else:
                lines.append(f"{t.name}: FAILED ({t.mismatched_bytes} bytes differ, first at "
                             f"element {t.first_mismatch})")
        return "\n".join(lines)


def verify(path: PathLike, *, progress: ProgressArg = False) -> VerifyReport:
    """Regenerate a file's tables from its provenance and compare, blockwise.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save`.
    progress : bool or callable, optional
        As for :func:`save` (bytes compared).

    Returns
    -------
    VerifyReport
        True-ish when every tensor equals its regenerated values byte for
        byte; per-tensor details otherwise.

    Raises
    ------
    ValueError
        If the file has no varinit provenance or is not a supported format.
    FileNotFoundError
        If the file or its sidecar is missing.

    Notes
    -----
    Memory stays bounded as in :func:`save` (two buffers per worker).  A file
    written by another ``stream_version`` cannot be regenerated: its tensors
    are reported as not checked, with that reason (``other_stream``), not as
    damaged.
    """
    path = os.fspath(path)
    fmt = for_path(path)
    # Shared with the saves' publish lock: the record and the table read
    # here come from the same save, even while another process saves.
    with publish_lock(path, shared=True) if fmt.sidecar else contextlib.nullcontext():
        return _verify(path, fmt, progress)


def _verify(path: str, fmt: FileFormat, progress: ProgressArg) -> VerifyReport:
    record = provenance(path)
    report = VerifyReport(path, provenance=record)
    file_size = os.path.getsize(path)
    entries: list[tuple[Tensor, TensorReport]] = []
    layout, data_start = fmt.read_layout(path, record)
    for name, rec in record["tensors"].items():
        tr = TensorReport(name, ok=False)
        report.tensors[name] = tr
        written_by = int(record.get("stream_version", -1))
        if written_by != int(STREAM_VERSION):
            tr.other_stream = written_by
            tr.problem = (f"written by stream version {written_by}; varinit {__version__} "
                          f"generates stream version {STREAM_VERSION} and cannot regenerate it")
            continue
        entry = layout.get(name)
        if entry is None:
            tr.problem = "tensor listed in the provenance is missing from the file"
            continue
        try:
            dtype = table_dtype(rec["dtype"])
            shape = tuple(int(d) for d in rec["shape"])
        except (TypeError, ValueError, KeyError) as exc:
            tr.problem = f"bad provenance record: {exc}"
            continue
        if tuple(entry["shape"]) != shape:
            tr.problem = f"file shape {tuple(entry['shape'])} != recorded shape {shape}"
            continue
        if entry.get("dtype") != fmt.dtype_code(lookup(dtype)):
            tr.problem = f"file dtype {entry.get('dtype')} != recorded dtype {dtype.name}"
            continue
        begin, end = entry["data_offsets"]
        if end - begin != nbytes(shape, dtype) or data_start + end > file_size:
            tr.problem = "file is truncated or its data offsets are wrong"
            continue
        try:
            init = deserialize(rec["initializer"])
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            tr.problem = f"cannot rebuild the initializer: {exc}"
            continue
        entries.append((Tensor(name, init, shape, dtype, rec["initializer"], begin), tr))
    _compare(path, data_start, entries, progress, swap=fmt.swap)
    return report


def _compare(path: str, data_start: int, entries: Sequence[tuple[Tensor, TensorReport]],
             progress: ProgressArg, swap: bool) -> None:
    if not entries:
        return
    total = sum(t.nbytes for t, _ in entries)
    meter = Progress(progress, total, f"verify {os.path.basename(path)}")
    workers, window = plan_workers(buffers_per_worker=2)
    lock = threading.Lock()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))

    def jobs() -> Iterator[tuple[Tensor, TensorReport, Window]]:
        for t, tr in entries:
            for w in windows(t.shape, max(1, window // t.dtype.itemsize)):
                yield t, tr, w

    def work(job: tuple[Tensor, TensorReport, Window], scratch: tuple[np.ndarray, np.ndarray]) -> int:
        t, tr, w = job
        nbytes = w.count * t.dtype.itemsize
        expected = scratch[0][:nbytes]
        t.init.block(t.shape, w.index, t.dtype, out=expected.view(t.dtype).reshape(w.shape))
        if swap:  # pragma: no cover
            expected.view(t.dtype).byteswap(inplace=True)
        actual = scratch[1][:nbytes]
        view = actual.data
        offset = data_start + t.begin + w.start * t.dtype.itemsize
        while view:
            n = pread_into(fd, view, offset)
            if n == 0:
                raise ValueError(f"{path} ended early")
            view = view[n:]
            offset += n
        diff = expected != actual
        bad = int(np.count_nonzero(diff))
        if bad:
            first = w.start + int(np.flatnonzero(diff)[0]) // t.dtype.itemsize
            with lock:
                tr.mismatched_bytes += bad
                if tr.first_mismatch is None or first < tr.first_mismatch:
                    tr.first_mismatch = first
        return nbytes

    def scratch() -> tuple[np.ndarray, np.ndarray]:
        return np.empty(window, np.uint8), np.empty(window, np.uint8)

    try:
        meter.update(0)
        run_parallel(jobs(), work, scratch, workers, meter)
    finally:
        os.close(fd)
        meter.close()
    for _, tr in entries:
        tr.ok = tr.mismatched_bytes == 0

