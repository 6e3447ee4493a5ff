"""save: collect and check the tensors, lay the file out (the save plan),
then stream the windows into a temporary file and rename it into place."""
from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import STREAM_VERSION, __version__
from ..blocks import Window, as_shape, check_blockwise, pinned_config, probe, windows
from ..dtypes import table_dtype
from . import _atomic
from ._atomic import AtomicFile, NotEnoughDiskSpace, check_target, publish_lock
from ._workers import (Progress, ProgressArg, check_progress, deferred_sigint, plan_workers,
                       run_parallel, sigterm_as_interrupt)
from .formats import FileFormat, Tensor, for_path, sidecar_path
from .formats._base import PathLike

#: Name of the provenance record written into files (``"format"`` key).
PROVENANCE_FORMAT = "varinit-provenance/1"


def _collect(init_or_tensors: Any, shape: Any, dtype: Any, name: str) -> list[Tensor]:
    if isinstance(init_or_tensors, Mapping):
        if shape is not None or dtype is not None:
            raise TypeError("save(path, {name: (init, shape, dtype)}) takes no separate "
                            "shape or dtype")
        if not init_or_tensors:
            raise ValueError("save() needs at least one tensor")
        specs = []
        for key, spec in init_or_tensors.items():
            if not isinstance(key, str) or not key or key == "__metadata__":
                raise ValueError(f"bad tensor name {key!r}")
            if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
                raise TypeError(f"tensor {key!r}: expected (init, shape) or "
                                f"(init, shape, dtype), got {spec!r}")
            specs.append((key, spec[0], spec[1], spec[2] if len(spec) == 3 else None))
    else:
        if shape is None:
            raise TypeError("save(path, init, shape, ...) needs a shape")
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"bad tensor name {name!r}")
        specs = [(name, init_or_tensors, shape, dtype)]
    tensors = []
    for key, init, shp, dt in specs:
        check_blockwise(init)
        shp = as_shape(shp)
        dt = table_dtype(dt)
        try:
            probe(init, shp, dt)
        except NotImplementedError as exc:
            raise NotImplementedError(f"tensor {key!r}: {type(init).__name__} cannot be "
                                      f"generated blockwise, so it cannot be streamed to a "
                                      f"file ({exc})") from None
        pinned = init.pinned()
        tensors.append(Tensor(key, pinned, shp, dt, pinned_config(pinned)))
    return tensors


def _provenance(tensors: Sequence[Tensor], file_format: str) -> dict:
    import datetime
    return {
        "format": PROVENANCE_FORMAT,
        "file_format": file_format,
        "varinit_version": __version__,
        "stream_version": int(STREAM_VERSION),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tensors": {t.name: t.record() for t in tensors},
    }


def save(path: PathLike, init: Any, shape: Sequence[int] | int | None = None,
         dtype: Any = None, *, name: str = "weight", progress: ProgressArg = False,
         fsync: bool = True, overwrite: bool = True) -> str:
    """Write ``init(shape, dtype)`` to a ``.npy`` or ``.safetensors`` file,
    streaming, with bounded memory.

    The table is generated window by window (``init.block``) into small
    per-thread buffers and written with ``os.pwrite``; peak memory stays
    below about 128 MiB of buffers whatever the table size.  The file is
    written under a temporary name in the same folder and renamed onto
    ``path`` only when complete.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; its suffix picks the format (``.npy`` or
        ``.safetensors``).  An existing file is replaced, atomically,
        unless ``overwrite=False``.
    init : Initializer or dict
        A varinit initializer, or (``.safetensors`` only) a mapping
        ``{name: (init, shape, dtype)}`` (dtype optional) to write several
        tensors into one file.
    shape : sequence of int or int, optional
        Table shape (required with a single initializer).
    dtype : dtype-like, optional
        float16, ``"bfloat16"``, float32 (default) or float64.
    name : str, optional
        Tensor name in a ``.safetensors`` file (default ``"weight"``).
    progress : bool or callable, optional
        ``True`` shows a tqdm bar (bytes, rate; a plain stderr line if tqdm
        is missing); a callable is called as ``progress(bytes_done,
        bytes_total)`` from the calling thread.
    fsync : bool, optional
        Flush the file (and its folder) to disk before returning (default).
    overwrite : bool, optional
        Replace an existing file under ``path`` (default ``True``, as
        ``numpy.save`` does); ``False`` raises ``FileExistsError`` instead,
        before anything is written.  The ``varinit init`` command is the
        safe one: it refuses an existing target unless ``--force``.

    Returns
    -------
    str
        ``path``.

    Raises
    ------
    FileExistsError
        With ``overwrite=False``, if ``path`` exists.
    NotEnoughDiskSpace
        If the file system lacks the space, before anything is written.
    ValueError, TypeError
        For an unknown suffix, bad shape, dtype or initializer, before
        anything is written.
    NotImplementedError
        For an initializer that cannot be generated blockwise (Orthogonal).
    KeyboardInterrupt
        On Ctrl-C: the workers stop within one window, the temporary file is
        removed and nothing is left under ``path`` (an existing file stays
        as it was).  A Ctrl-C during the final renames is held until they
        are done, then raised: the file under ``path`` (and its sidecar) is
        then complete.

    See Also
    --------
    plan_save : The same in two steps: every check first, then the write.

    Notes
    -----
    Provenance (initializer config with its integer seed, shape, dtype,
    ``stream_version``, varinit version) goes into the safetensors
    ``__metadata__`` (key ``"varinit"``, a JSON string) or, for ``.npy``,
    into the sidecar :func:`sidecar_path`.  bfloat16 ``.npy`` data is stored
    as ``uint16`` bit patterns: load with :func:`load_npy` or
    ``np.load(path).view(ml_dtypes.bfloat16)``.

    Examples
    --------
    >>> import varinit  # doctest: +SKIP
    >>> varinit.save("table.npy", varinit.GlorotUniform(seed=0), (1_000_000, 128))  # doctest: +SKIP
    'table.npy'
    """
    check_progress(progress)
    plan = plan_save(path, init, shape, dtype, name=name, overwrite=overwrite)
    return plan.write(progress=progress, fsync=fsync)


@dataclass
class SavePlan:
    """A :func:`save` whose arguments and target are checked and whose file
    is laid out, not yet written (:func:`plan_save`).

    Attributes
    ----------
    path : str
        The target file.
    file_format : varinit.io.formats.FileFormat
        Its format.
    tensors : list of varinit.io.formats.Tensor
        The tensors, in file order, with their data offsets.
    header : bytes
        Everything before the data.
    sidecar : bytes or None
        The provenance sidecar's contents, for formats that keep one.
    """

    path: str
    file_format: FileFormat
    tensors: list[Tensor]
    header: bytes
    sidecar: bytes | None

    @property
    def total_bytes(self) -> int:
        """Bytes of table data to generate and write (all tensors, no header)."""
        return sum(t.nbytes for t in self.tensors)

    def write(self, *, progress: ProgressArg = False, fsync: bool = True) -> str:
        """Write the file: the second half of :func:`save`, with its guarantees.

        Parameters
        ----------
        progress : bool or callable, optional
        fsync : bool, optional
            As for :func:`save`.

        Returns
        -------
        str
            The path written.

        Raises
        ------
        OSError
            If writing fails midway (``NotEnoughDiskSpace`` when the disk
            filled up); the temporary file is removed.
        KeyboardInterrupt
            As for :func:`save`; SIGTERM (with its default handler, in the
            main thread) is handled the same way, then re-delivered, so the
            process still ends by it but leaves no temporary file.
        """
        with sigterm_as_interrupt():
            return self._write(progress, fsync)

    def _write(self, progress: ProgressArg, fsync: bool) -> str:
        path, head, sidecar = self.path, self.header, self.sidecar
        meter = Progress(progress, self.total_bytes, os.path.basename(path))
        target = AtomicFile(path, len(head) + self.total_bytes)
        side_file: AtomicFile | None = None
        try:
            _atomic.pwrite_all(target.fd, memoryview(head), 0)
            stream_tensors(target.fd, len(head), self.tensors, meter, swap=self.file_format.swap)
            if sidecar is not None:
                side_file = AtomicFile(sidecar_path(path), len(sidecar))
                _atomic.pwrite_all(side_file.fd, memoryview(sidecar), 0)
            with deferred_sigint():
                if side_file is None:
                    target.commit(fsync)
                else:
                    with publish_lock(path):
                        # The old record goes first: a failure below leaves the table
                        # without a sidecar, never beside another table's record.
                        with contextlib.suppress(FileNotFoundError):
                            os.unlink(side_file.path)
                        target.commit(fsync)
                        side_file.commit(fsync)
        except BaseException as exc:
            target.discard()
            if side_file is not None:
                side_file.discard()
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC \
                    and not isinstance(exc, NotEnoughDiskSpace):
                raise NotEnoughDiskSpace(errno.ENOSPC, f"ran out of disk space while writing {path} "
                                         "(the partial file was removed)") from exc
            raise
        finally:
            meter.close()
        return path


def plan_save(path: PathLike, init: Any, shape: Sequence[int] | int | None = None,
              dtype: Any = None, *, name: str = "weight", overwrite: bool = True) -> SavePlan:
    """Check a :func:`save` and lay its file out, writing nothing.

    Every error of a bad argument or an unusable target is raised here, so a
    caller (the command line) can tell them from failures of the write
    itself (:meth:`SavePlan.write`).

    Parameters
    ----------
    path, init, shape, dtype, name, overwrite
        As for :func:`save`.

    Returns
    -------
    SavePlan
        Call its :meth:`~SavePlan.write` to write the file.

    Raises
    ------
    ValueError, TypeError, NotImplementedError, FileExistsError
        As for :func:`save`.
    NotEnoughDiskSpace
        If the file system lacks the space for the file.
    OSError
        If the target's folder is missing or not writable, or the target
        is a folder.

    Examples
    --------
    >>> import varinit, varinit.io  # doctest: +SKIP
    >>> plan = varinit.io.plan_save("t.npy", varinit.GlorotUniform(seed=0), (1000, 64))  # doctest: +SKIP
    >>> plan.total_bytes  # doctest: +SKIP
    256000
    >>> plan.write(progress=True)  # doctest: +SKIP
    't.npy'
    """
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError("path must be a str or os.PathLike[str]")
    fmt = for_path(path)
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(errno.EEXIST, "file exists and overwrite=False", path)
    tensors = _collect(init, shape, dtype, name)
    fmt.check_tensors(tensors)
    placed = fmt.place(tensors)
    head, sidecar = fmt.encode(placed, _provenance(tensors, fmt.name))   # the caller's order
    plan = SavePlan(path, fmt, placed, head, sidecar)
    check_target(path, len(head) + plan.total_bytes + (len(sidecar) if sidecar else 0))
    return plan


def stream_tensors(fd: int, data_start: int, tensors: Sequence[Tensor], meter: Progress,
                   swap: bool) -> None:
    """Generate the tensors window by window in worker threads and write
    each window at its offset of ``fd``."""
    workers, window = plan_workers(buffers_per_worker=1)

    def jobs() -> Iterator[tuple[Tensor, Window]]:
        for t in tensors:
            for w in windows(t.shape, max(1, window // t.dtype.itemsize)):
                yield t, w

    def work(job: tuple[Tensor, Window], scratch: np.ndarray) -> int:
        t, w = job
        nbytes = w.count * t.dtype.itemsize
        buf = scratch[:nbytes].view(t.dtype).reshape(w.shape)
        t.init.block(t.shape, w.index, t.dtype, out=buf)
        if swap:  # pragma: no cover - big-endian hosts
            buf.byteswap(inplace=True)
        _atomic.pwrite_all(fd, scratch[:nbytes].data, data_start + t.begin
                           + w.start * t.dtype.itemsize)
        return nbytes

    def scratch() -> np.ndarray:
        return np.empty(window, np.uint8)

    meter.update(0)
    run_parallel(jobs(), work, scratch, workers, meter)
