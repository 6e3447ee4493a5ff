"""Send SIGINT to a child process that is busy, and time how long it takes to stop."""
from __future__ import annotations

import signal
import subprocess
import time


def interrupt(proc: subprocess.Popen, delay: float) -> tuple[str, str, float]:
    """Wait ``delay`` s, send SIGINT, wait for exit (killing it on any failure).

    Returns the rest of stdout, stderr, and the seconds from signal to exit.
    """
    try:
        time.sleep(delay)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        return out, err, time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
