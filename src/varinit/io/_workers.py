"""The worker engine of save and verify: per-thread buffers within one
memory budget, a shared queue of windows, cancellation on Ctrl-C or on a
worker's error, a SIGINT held across the final renames, and the progress
meter (tqdm, a plain stderr line, or the caller's callable).
"""
from __future__ import annotations

import contextlib
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Union

from .. import get_num_threads, num_threads
from ._sizes import format_bytes

ProgressArg = Union[bool, Callable[[int, int], Any], None]

#: Bytes of generation/IO buffers a save may hold at once, all threads together.
BUFFER_BUDGET = 128 << 20
#: Largest window handed to one thread.
MAX_WINDOW = 16 << 20
#: Smallest window (unless the table is smaller).
MIN_WINDOW = 1 << 20


def plan_workers(buffers_per_worker: int) -> tuple[int, int]:
    """The worker count and window size :func:`save` and :func:`verify` use.

    Parameters
    ----------
    buffers_per_worker : int
        Buffers each worker holds (1 for save, 2 for verify).

    Returns
    -------
    (int, int)
        ``(workers, window bytes)``: at most the thread count
        (:func:`varinit.get_num_threads`), all buffers within
        :data:`BUFFER_BUDGET`.
    """
    threads = get_num_threads()
    per_buffer = BUFFER_BUDGET // buffers_per_worker
    window = max(MIN_WINDOW, min(MAX_WINDOW, per_buffer // threads))
    workers = max(1, min(threads, per_buffer // window))
    return workers, window


# ---------------------------------------------------------------------------
# Progress
# ---------------------------------------------------------------------------

def check_progress(progress: ProgressArg) -> None:
    """Raise ``TypeError`` for a ``progress=`` that is not a bool, None or a callable."""
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise TypeError("progress must be a bool or a callable(bytes_done, bytes_total), "
                        f"got {type(progress).__name__}")


class Progress:
    """Adapter for ``progress=``: False/None, True (tqdm bar), or a callable."""

    def __init__(self, progress: ProgressArg, total: int, desc: str) -> None:
        self.total = total
        self._callback: Callable[[int, int], Any] | None = None
        self._bar: Any = None
        self._last = -1
        check_progress(progress)
        if progress is None or progress is False:
            return
        if progress is True:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                self._callback = TextBar(desc)
            else:
                # tqdm labels its scaled units k, M, G: decimal, so divide by 1000
                self._bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000,
                                 desc=desc, dynamic_ncols=True, leave=True)
            return
        self._callback = progress

    def update(self, done: int) -> None:
        if done == self._last:
            return
        if self._bar is not None:
            self._bar.update(done - max(self._last, 0))
        elif self._callback is not None:
            self._callback(done, self.total)
        self._last = done

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif isinstance(self._callback, TextBar):
            self._callback.close()


class TextBar:
    """Minimal stderr progress line, used when tqdm is not installed."""

    def __init__(self, desc: str) -> None:
        self.desc = desc
        self.start = time.perf_counter()
        self.printed = False

    def __call__(self, done: int, total: int) -> None:
        elapsed = max(time.perf_counter() - self.start, 1e-9)
        pct = 100.0 * done / total if total else 100.0
        sys.stderr.write(f"\r{self.desc}: {pct:5.1f}% {format_bytes(done)}/{format_bytes(total)} "
                         f"{format_bytes(done / elapsed)}/s")
        sys.stderr.flush()
        self.printed = True

    def close(self) -> None:
        if self.printed:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ---------------------------------------------------------------------------
# Per-thread buffers, a shared window queue, cancellation
# ---------------------------------------------------------------------------

class _Cancelled(Exception):
    pass


@dataclass
class _State:
    alive: int
    done: int = 0
    error: BaseException | None = None


def run_parallel(jobs: Iterator[Any], work: Callable[[Any, Any], int], make_scratch: Callable[[], Any],
                 workers: int, progress: Progress | None) -> None:
    """Run ``work(job, scratch) -> bytes`` over ``jobs`` in ``workers`` threads,
    each with its own ``make_scratch()``.  The calling thread only waits and
    reports progress, so Ctrl-C reaches it at once: the workers are then told
    to stop, joined (each finishes at most its current window), and the
    ``KeyboardInterrupt`` propagates.  A worker's exception is re-raised here."""
    lock = threading.Lock()
    cancel = threading.Event()
    finished = threading.Event()
    state = _State(alive=workers)

    def next_job() -> Any:
        with lock:
            if cancel.is_set():
                raise _Cancelled
            try:
                return next(jobs)
            except StopIteration:
                raise _Cancelled from None

    def run() -> None:
        try:
            # The workers are the parallelism: fills inside them use one
            # thread, or varinit's pool would only oversubscribe the cores.
            with num_threads(1):
                scratch = make_scratch()
                while True:
                    job = next_job()
                    n = work(job, scratch)
                    with lock:
                        state.done += n
        except _Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            with lock:
                if state.error is None:
                    state.error = exc
            cancel.set()
        finally:
            with lock:
                state.alive -= 1
                if state.alive == 0:
                    finished.set()

    threads = [threading.Thread(target=run, name=f"varinit-io-{i}", daemon=True)
               for i in range(workers)]
    try:
        for t in threads:
            t.start()
        while not finished.wait(0.1):
            if progress is not None:
                progress.update(state.done)
    except BaseException:
        cancel.set()
        for t in threads:
            if t.ident is not None:
                _join_uninterrupted(t)
        raise
    for t in threads:
        t.join()
    if state.error is not None:
        raise state.error
    if progress is not None:
        progress.update(state.done)


def _join_uninterrupted(t: threading.Thread) -> None:
    """Join even if a second Ctrl-C arrives: no worker may outlive the call."""
    while True:
        try:
            t.join()
            return
        except KeyboardInterrupt:
            continue


class Terminated(KeyboardInterrupt):
    """SIGTERM during a save: handled as Ctrl-C (workers stopped, temporaries
    removed), then the signal is delivered again so the process ends as it
    would have."""


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` for the duration, if its handler
    is the default one and this is the main thread; afterwards re-deliver it
    to the default action."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL):
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated("SIGTERM")

    signal.signal(signal.SIGTERM, handler)
    terminated = False
    try:
        yield
    except Terminated:
        terminated = True
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if terminated:
        signal.raise_signal(signal.SIGTERM)


_DEFERRED = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def deferred_sigint() -> Iterator[None]:
    """Hold SIGINT and SIGTERM across a short critical section (the final
    renames), then deliver them to their previous handlers
    (``KeyboardInterrupt`` for Python's default SIGINT).  A no-op outside
    the main thread; a signal that is ignored, or whose handler was not set
    from Python (it could not be restored), is left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in _DEFERRED}
    held = [s for s, h in previous.items() if h is not None and h != signal.SIG_IGN]
    received: list[int] = []
    for s in held:
        signal.signal(s, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for s in held:
            signal.signal(s, previous[s])
        for s in dict.fromkeys(received):
            signal.raise_signal(s)
