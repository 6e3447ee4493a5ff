"""Results as text and Markdown tables, and the paragraph naming machine and method."""
from __future__ import annotations

from collections.abc import Sequence

from .timing import Result

#: Columns of both tables (the Markdown table adds ``call`` after ``threads``).
HEADER = ["workload", "library", "path", "threads", "Gs/s", "ratio vs numpy",
          "ratio (medians)", "of buf.fill", "spread", "N"]
_RIGHT_ALIGNED = {3, 4, 5, 6, 7, 8, 9}


def _fmt(x: float | None, spec: str, suffix: str = "") -> str:
    return "—" if x is None else format(x, spec) + suffix


def _cells(results: Sequence[Result]) -> list[list[str]]:
    return [[r.spec.workload, r.spec.library, r.spec.path, str(r.spec.threads),
             f"{r.rate / 1e9:.3f}", _fmt(r.ratio, ".2f", "×"), _fmt(r.ratio_median, ".2f", "×"),
             _fmt(r.of_memset, ".0%"), f"{r.spread:.1%}", str(len(r.times))]
            for r in results]


def text_table(results: Sequence[Result]) -> str:
    """Results as an aligned plain-text table (what ``varinit bench`` prints).

    Parameters
    ----------
    results : sequence of Result
        From :func:`measure`.

    Returns
    -------
    str
        Header, rule and one line per result.
    """
    rows = [HEADER] + _cells(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = []
    for k, row in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in _RIGHT_ALIGNED else c.ljust(widths[i])
                 for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(results: Sequence[Result]) -> str:
    """Results as a GitHub-flavoured Markdown table, with the timed call of each row.

    Parameters
    ----------
    results : sequence of Result
        As for :func:`text_table`.

    Returns
    -------
    str
    """
    header = HEADER[:4] + ["call"] + HEADER[4:]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r, row in zip(results, _cells(results)):
        call = "`" + r.spec.call.replace("|", "\\|") + "`"
        lines.append("| " + " | ".join(row[:4] + [call] + row[4:]) + " |")
    return "\n".join(lines)


def describe_run(n: int, repeats: int, info: dict, capacity: float | None) -> str:
    """One paragraph naming the machine and the method of a run.

    Parameters
    ----------
    n : int
        Elements per buffer.
    repeats : int
        Timed calls per row.
    info : dict
        From :func:`machine_info`.
    capacity : float or None
        From :func:`parallel_capacity`, if measured.

    Returns
    -------
    str
    """
    cap = "" if capacity is None else (
        f" Parallel capacity at start (2 threads vs 1 on a GIL-free numpy kernel): "
        f"{capacity:.2f}×.")
    cpu_id = (f" ({info['cpu_id']}{', virtual machine' if info.get('hypervisor') else ''})"
              if info.get("cpu_id") else "")
    return (f"{n:,} elements per buffer, best of {repeats} timed calls after 1 warm-up. "
            f"CPU: {info['cpu']}{cpu_id}, {info['affinity']} of {info['cpus']} logical CPUs "
            f"usable, SIMD flags: {info['simd'] or 'none found'}, memory {info['memory'] or '?'}. "
            f"Python {info['python']}, numpy {info['numpy']}, "
            f"torch {info['torch'] or 'not installed'}, varinit {info['varinit']} "
            f"(kernels: {', '.join(info['kernels'])}; default {info['active_kernel']}).{cap}")
