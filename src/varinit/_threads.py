"""Thread-count settings: process-wide default, per-thread override, env var."""
from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator

from ._validate import integer

__all__ = ["get_num_threads", "set_num_threads", "num_threads"]

ENV_VAR = "VARINIT_NUM_THREADS"


def _available_cpus() -> int:
    """CPUs this process may run on (affinity mask, not the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    if hasattr(os, "process_cpu_count"):  # Python 3.13+
        return max(1, os.process_cpu_count() or 1)
    return max(1, os.cpu_count() or 1)


def _check(n: object) -> int:
    return integer(n, "number of threads", low=1)


def _from_environment() -> int:
    value = os.environ.get(ENV_VAR)
    if value is None or value.strip() == "":
        return _available_cpus()
    try:
        return _check(int(value))
    except (TypeError, ValueError):
        default = _available_cpus()
        warnings.warn(f"ignoring {ENV_VAR}={value!r}: expected an integer >= 1; "
                      f"using {default} threads", RuntimeWarning, stacklevel=3)
        return default


_process_threads = _from_environment()
_local = threading.local()


def get_num_threads() -> int:
    """Number of threads the next fill in this thread will use.

    Returns
    -------
    int
        The calling thread's :func:`num_threads` override if one is active,
        else the process-wide setting (:func:`set_num_threads`, else the
        ``VARINIT_NUM_THREADS`` environment variable read at import, else the
        CPUs available to the process).
    """
    override = getattr(_local, "threads", None)
    return override if override is not None else _process_threads


def set_num_threads(n: int) -> None:
    """Set the process-wide number of threads used by fills.

    Parameters
    ----------
    n : int
        At least 1.  Small fills use one thread whatever the setting.

    Raises
    ------
    TypeError, ValueError
        As :func:`num_threads`.
    """
    global _process_threads
    _process_threads = _check(n)


@contextlib.contextmanager
def num_threads(n: int) -> Iterator[int]:
    """Use ``n`` threads for fills started by the calling thread, inside ``with``.

    Parameters
    ----------
    n : int
        At least 1.

    Yields
    ------
    int
        ``n``; the previous setting is restored on exit, also on error.

    Raises
    ------
    ValueError
        If ``n < 1``.
    TypeError
        If ``n`` is not an integer.

    Examples
    --------
    >>> import numpy as np, varinit
    >>> with varinit.num_threads(1):
    ...     _ = varinit.fill_uniform(np.empty(10, np.float32), seed=0)
    """
    n = _check(n)
    previous = getattr(_local, "threads", None)
    _local.threads = n
    try:
        yield n
    finally:
        _local.threads = previous
