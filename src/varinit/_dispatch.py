"""Which kernel table fills run on: the best this CPU supports, VARINIT_ISA, or use_kernel().

Every path writes the scalar path's bits (``docs/dispatch.md``), so the
choice changes speed only; a fill reads it once, when it starts.
"""
from __future__ import annotations

import os
import threading
from types import TracebackType

from . import _core

__all__ = ["active_kernel", "available_kernels", "use_kernel", "KNOWN_KERNELS"]

ENV_VAR = "VARINIT_ISA"
KNOWN_KERNELS = ("scalar", "avx2", "avx512")


def available_kernels() -> list[str]:
    """Kernel tables compiled in and runnable on this machine.

    Returns
    -------
    list of str
        Names from :data:`KNOWN_KERNELS`, slowest first (``"scalar"`` always).
    """
    return [name for name in KNOWN_KERNELS if _core.missing_features(name) == ""]


def _why_not(name: str) -> str | None:
    """Why kernel ``name`` cannot be used here, or None if it can."""
    if name not in KNOWN_KERNELS:
        return f"{name!r} is not a kernel; valid values: " + ", ".join(KNOWN_KERNELS)
    missing = _core.missing_features(name)
    if missing is None:
        return f"this build of varinit has no {name} kernels (not an x86-64 build)"
    if missing:
        return f"this CPU lacks {missing} for the {name} kernels"
    return None


def _from_environment() -> str:
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    if not forced:
        return _core.best_kernel()
    problem = _why_not(forced)
    if problem is not None:
        raise ImportError(f"{ENV_VAR}={forced}: {problem}")
    return forced


_process_kernel = _from_environment()
_lock = threading.Lock()
_local = threading.local()


def active_kernel() -> str:
    """The kernel table the next fill in this thread uses.

    Returns
    -------
    str
        ``"scalar"``, ``"avx2"`` or ``"avx512"``: the calling thread's
        ``with use_kernel(...)`` if one is active, else the process-wide
        choice (:func:`use_kernel`, else ``VARINIT_ISA`` read at import,
        else the fastest this CPU and OS run).
    """
    override = getattr(_local, "kernel", None)
    return override if override is not None else _process_kernel


class use_kernel:
    """Choose the kernel path: for the process, or inside ``with`` for this thread.

    ``varinit.use_kernel("avx2")`` sets the process-wide choice (as
    ``VARINIT_ISA`` does at import); ``with varinit.use_kernel("scalar"):``
    applies to fills started by the calling thread inside the block only,
    and restores that thread's previous choice on exit, so threads choosing
    different paths at once do not disturb each other.  Every path writes
    the same bits: this changes speed, never values.

    Parameters
    ----------
    name : {"scalar", "avx2", "avx512"}
        A kernel in :func:`varinit.runtime_info`'s ``kernels_available``.

    Raises
    ------
    TypeError
        For a name that is not a string.
    ValueError
        For an unknown name or a kernel this CPU or build cannot run.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> with varinit.use_kernel("scalar"):
    ...     varinit.runtime_info()["kernel"]
    'scalar'
    """

    def __init__(self, name: str) -> None:
        global _process_kernel
        if not isinstance(name, str):
            raise TypeError(f"use_kernel: the kernel name must be a string, got "
                            f"{type(name).__name__}")
        problem = _why_not(name)
        if problem is not None:
            raise ValueError(f"use_kernel: {problem}")
        self.name = name
        self._thread_previous: str | None = None
        with _lock:
            self._process_previous = _process_kernel
            _process_kernel = name

    def __enter__(self) -> "use_kernel":
        global _process_kernel
        # Used as a context manager: the choice is the calling thread's, so
        # the process-wide setting made by the constructor is taken back
        # (unless another thread changed it since).
        with _lock:
            if _process_kernel == self.name:
                _process_kernel = self._process_previous
        self._thread_previous = getattr(_local, "kernel", None)
        _local.kernel = self.name
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        _local.kernel = self._thread_previous

    def __repr__(self) -> str:
        return f"use_kernel({self.name!r})"
