"""Byte counts written for people (messages, the progress line, the command line)."""
from __future__ import annotations


def format_bytes(n: float) -> str:
    """A byte count (or rate) for people, in binary units.

    Parameters
    ----------
    n : float
        Bytes (or bytes per second).

    Returns
    -------
    str
        ``"512 B"``, ``"3.8 MiB"``, ``"1.2 TiB"``: whole bytes below 1 KiB,
        one decimal above, TiB at most.

    Examples
    --------
    >>> from varinit.io import format_bytes
    >>> format_bytes(4_000_000)
    '3.8 MiB'
    """
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover
