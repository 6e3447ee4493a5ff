"""The output file: written under a temporary name, renamed onto the target
when complete; the checks of the target made before anything is written;
positional reads and writes that many threads can share one descriptor for.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import socket
import threading
from collections.abc import Iterator

from ._sizes import format_bytes
from .formats._base import PathLike


class NotEnoughDiskSpace(OSError):
    """Raised before anything is written when the target's file system lacks
    the free space the file needs (``errno.ENOSPC``)."""


_seek_lock = threading.Lock()   # for platforms without pwrite/preadv (Windows)


def pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """Write all of ``data`` at ``offset`` of ``fd``, however many calls it takes."""
    while data:
        if hasattr(os, "pwrite"):
            written = os.pwrite(fd, data, offset)
        else:  # pragma: no cover - Windows
            with _seek_lock:
                os.lseek(fd, offset, os.SEEK_SET)
                written = os.write(fd, data)
        data = data[written:]
        offset += written


def pread_into(fd: int, view: memoryview, offset: int) -> int:
    """Read up to ``len(view)`` bytes at ``offset`` of ``fd`` into ``view``;
    the number read (0 at the end of the file)."""
    if hasattr(os, "preadv"):
        return os.preadv(fd, [view], offset)
    if hasattr(os, "pread"):  # pragma: no cover - platforms without preadv
        data = os.pread(fd, len(view), offset)
    else:  # pragma: no cover - Windows
        with _seek_lock:
            os.lseek(fd, offset, os.SEEK_SET)
            data = os.read(fd, len(view))
    view[:len(data)] = data
    return len(data)


# The temporary's name says which process on which host writes it, so a later
# save can tell the temporaries of writers that died (SIGKILL, power loss)
# from those of writers still running, here or on another host sharing the folder.
_HOST = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:              # EPERM: alive, someone else's
        return True
    return True


def remove_stale_temporaries(folder: str, base: str | None = None, *,
                             dry_run: bool = False) -> list[str]:
    """Remove the temporaries of saves into ``folder`` (to ``folder/base``
    only, if given) whose writer, a process of this host, no longer exists;
    return their paths.  Those of live processes and of other hosts are
    kept; ``dry_run`` removes nothing."""
    name_part = re.escape(base) if base is not None else r".+"
    pattern = re.compile(rf"\.{name_part}\.{re.escape(_HOST)}-(\d+)-[0-9a-f]{{8}}\.partial")
    removed = []
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return removed
    for name in names:
        match = pattern.fullmatch(name)
        if match and not _alive(int(match.group(1))):
            path = os.path.join(folder, name)
            if dry_run:
                removed.append(path)
                continue
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(path)
    return removed


def clean(folder: PathLike, *, dry_run: bool = False) -> list[str]:
    """Remove the temporary files that interrupted saves left in ``folder``.

    A save writes ``.NAME.HOST-PID-XXXXXXXX.partial`` and renames it onto
    ``NAME`` when complete; it removes it itself after an error, Ctrl-C or
    SIGTERM, so only a writer killed outright (SIGKILL, power loss) leaves
    one.  The next save to ``NAME`` removes those, and so does this, for the
    whole folder.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder to clean (not recursive).
    dry_run : bool, optional
        List what would be removed, remove nothing.

    Returns
    -------
    list of str
        The paths removed (or that would be).  Only temporaries whose writer
        was a process of this host that no longer runs: a running save's
        temporary, another host's (on a shared folder) and any other file
        are left alone.

    Raises
    ------
    NotADirectoryError
        If ``folder`` is not a folder.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise NotADirectoryError(errno.ENOTDIR, f"not a folder: {folder}")
    return remove_stale_temporaries(folder, dry_run=dry_run)


class AtomicFile:
    """A temporary file next to ``path``, renamed onto it by :meth:`commit`,
    removed by :meth:`discard`."""

    def __init__(self, path: str, size: int) -> None:
        import secrets
        self.path = path
        folder = os.path.dirname(path) or "."
        base = os.path.basename(path)
        remove_stale_temporaries(folder, base)
        self.tmp = os.path.join(folder, f".{base}.{_HOST}-{os.getpid()}-"
                                        f"{secrets.token_hex(4)}.partial")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
        self.fd = os.open(self.tmp, flags, 0o666)
        try:
            # The final size at once (sparse): pwrite order does not matter.
            # No posix_fallocate: on ext4 it made writes 2-4x slower
            # (unwritten-extent conversion); free space is checked up front.
            os.ftruncate(self.fd, size)
        except BaseException:
            self.discard()
            raise

    def commit(self, fsync: bool) -> None:
        if fsync:
            os.fsync(self.fd)
        os.close(self.fd)
        self.fd = -1
        os.replace(self.tmp, self.path)
        if fsync:
            fsync_dir(os.path.dirname(self.path) or ".")

    def discard(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def publish_lock(path: str, *, shared: bool = False) -> Iterator[None]:
    """Hold the lock that makes a table and its sidecar one unit.

    Publishing a table with a sidecar takes three steps (remove the old
    record, rename the table, rename the record); two writers interleaving
    them could leave one's table beside the other's record.  Writers hold
    this lock exclusively over the three steps, readers of both files
    (``verify``) hold it shared.  It is an advisory ``flock`` on the
    target's folder, so it leaves no file behind and the kernel releases
    it when its holder dies; the cost is that the publish steps of all
    saves into one folder take turns (they take milliseconds), and wait
    while a ``verify`` in that folder runs.  Without ``fcntl`` (Windows)
    it is a no-op.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    try:
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    except OSError:
        if not shared:
            raise
        yield          # a reader of a missing folder gets the reader's error
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)         # closing releases the lock


def fsync_dir(folder: str) -> None:
    """Flush a folder's entries (the renames in it) to disk, where the
    platform can."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def check_target(path: str, size: int) -> None:
    """Fail, writing nothing, unless ``path`` can take a file of ``size``
    bytes: its folder exists and is writable, it is not a folder, and the
    file system has the room."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, f"cannot write {path}: it is a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(errno.EACCES, f"cannot write {path}: folder {folder} is not writable")
    usage = shutil.disk_usage(folder)
    if usage.total == 0:        # proc, sysfs and the like: no storage to hold a file
        raise OSError(errno.EROFS, f"cannot write {path}: {folder} is on a file system "
                      "without storage (such as /proc or /sys)")
    free = usage.free
    if size > free:
        raise NotEnoughDiskSpace(errno.ENOSPC,
                                 f"not enough free disk space to write {path}: it needs "
                                 f"{format_bytes(size)} ({size} bytes), {folder} has "
                                 f"{format_bytes(free)} free")
