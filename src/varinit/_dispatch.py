"""Which kernel table fills run on: the best this CPU supports, or VARINIT_ISA."""
from __future__ import annotations

import os

from . import _core

__all__ = ["active_kernel", "available_kernels", "KNOWN_KERNELS"]

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


def _choose() -> str:
    forced = os.environ.get(ENV_VAR, "").strip().lower()
    if not forced:
        return _core.best_kernel()
    if forced not in KNOWN_KERNELS:
        raise ImportError(f"{ENV_VAR}={forced!r} is not a kernel; valid values: "
                          + ", ".join(KNOWN_KERNELS))
    missing = _core.missing_features(forced)
    if missing is None:
        raise ImportError(f"{ENV_VAR}={forced}: this build of varinit has no {forced} kernels "
                          "(not an x86-64 build)")
    if missing:
        raise ImportError(f"{ENV_VAR}={forced}: this CPU lacks {missing}")
    return forced


_ACTIVE = _choose()


def active_kernel() -> str:
    """The kernel table fills use, chosen once at import.

    Returns
    -------
    str
        ``"scalar"``, ``"avx2"`` or ``"avx512"``: the fastest this CPU and OS
        run, or the one ``VARINIT_ISA`` forces.
    """
    return _ACTIVE
