"""``varinit bench``: its argument parser (shared with ``bench/report.py``) and ``run_bench``."""
from __future__ import annotations

import argparse
import sys

import varinit

from .machine import machine_info
from .tables import describe_run, markdown_table, text_table
from .timing import DEFAULT_REPEATS, DEFAULT_SIZE, measure, parallel_capacity
from .workloads import WORKLOADS, specs

RATIO_NOTE = ("ratio = the baseline's best time / this row's best time, same workload, same "
              "run (> 1: faster); the baseline is numpy's Generator with the same threads "
              "(new array: np.empty + fill); spread = median / best - 1.")


def parse_size(text: str) -> int:
    """Parse an element count: ``67108864``, ``67_108_864``, ``2**26`` or ``2^26``.

    Parameters
    ----------
    text : str
        The count.

    Returns
    -------
    int
        At least 1.

    Raises
    ------
    argparse.ArgumentTypeError
        For a count below 1.
    ValueError
        For text that is not a number.
    """
    text = text.strip().replace("^", "**")
    if "**" in text:
        base, _, exp = text.partition("**")
        value = int(base) ** int(exp)
    else:
        value = int(text.replace("_", ""))
    if value < 1:
        raise argparse.ArgumentTypeError("size must be at least 1")
    return value


def parse_int_list(text: str) -> list[int]:
    """Parse comma-separated thread counts, e.g. ``"1,2"``.

    Parameters
    ----------
    text : str
        Integers separated by commas.

    Returns
    -------
    list of int
        Each at least 1; at least one.

    Raises
    ------
    argparse.ArgumentTypeError
        For anything else.
    """
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers separated by commas, got {text!r}")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("thread counts must be at least 1")
    return values


def parse_name_list(text: str) -> list[str]:
    """Parse comma-separated names (kernels, workloads), dropping empty ones.

    Parameters
    ----------
    text : str
        Names separated by commas.

    Returns
    -------
    list of str
        Stripped, possibly empty.
    """
    return [x.strip() for x in text.split(",") if x.strip()]


def build_parser(prog: str = "python -m varinit bench") -> argparse.ArgumentParser:
    """The argument parser of ``python -m varinit bench`` (shared with ``bench/report.py``).

    Parameters
    ----------
    prog : str
        Program name shown in the usage line.

    Returns
    -------
    argparse.ArgumentParser
    """
    p = argparse.ArgumentParser(
        prog=prog,
        description="Time varinit's fills beside numpy's Generator (and torch, if installed) "
                    "on a preallocated, pre-touched buffer; print samples/s and ratios.")
    p.add_argument("--size", type=parse_size, default=DEFAULT_SIZE,
                   help="elements per buffer, e.g. 67108864 or 2**26 (default 2**26; "
                        "float64 workloads use a buffer of twice the bytes)")
    p.add_argument("--threads", type=parse_int_list, default=None,
                   help="thread counts, comma-separated (default: 1 and all available)")
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS,
                   help="timed calls per row after one warm-up; best-of-N (default %(default)s)")
    p.add_argument("--kernels", type=parse_name_list, default=None,
                   help="varinit kernel paths, comma-separated (default: every path this CPU "
                        f"runs: {', '.join(varinit.runtime_info()['kernels_available'])})")
    p.add_argument("--workloads", type=parse_name_list, default=None,
                   help="workloads, comma-separated (default all: " + ", ".join(WORKLOADS) + ")")
    p.add_argument("--no-torch", action="store_true", help="skip torch even if it is installed")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _usage_error(message: str) -> int:
    print(f"varinit bench: {message}", file=sys.stderr)
    return 2


def run_bench(argv: list[str]) -> int:
    """Run ``python -m varinit bench`` with command-line arguments ``argv``.

    Times uniform, normal and truncated-normal fills (float32 and float64),
    ``buf.fill`` and a new-array case, with every varinit kernel path this CPU
    runs, numpy's ``Generator`` and torch (when installed), at one thread and
    at all threads, and prints a table of samples/s and ratios to numpy
    measured in the same run.

    Parameters
    ----------
    argv : list of str
        Arguments after ``bench``: ``--size``, ``--threads``, ``--repeats``,
        ``--kernels``, ``--workloads``, ``--no-torch``, ``--markdown``,
        ``--quiet`` (``--help`` lists them).

    Returns
    -------
    int
        Process exit status: 0 on success, 2 for bad arguments.

    Examples
    --------
    >>> from varinit.benchmarks import run_bench
    >>> run_bench(["--size", "65536", "--repeats", "2", "--workloads", "uniform f32",
    ...            "--no-torch", "--quiet"])  # doctest: +SKIP
    0
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:          # --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.repeats < 1:
        return _usage_error("--repeats must be at least 1")
    known = varinit.runtime_info()["kernels_available"]
    bad = [k for k in args.kernels or () if k not in known]
    if bad:
        return _usage_error(f"kernel(s) {', '.join(bad)} not available here; "
                            f"available: {', '.join(known)}")
    try:
        rows = specs(args.threads, args.kernels, False if args.no_torch else None,
                     args.workloads)
    except ValueError as exc:
        return _usage_error(str(exc))
    if not rows:
        return _usage_error("no workloads to run (--workloads names none); known: "
                            + ", ".join(WORKLOADS))
    info = machine_info()
    top = max(s.threads for s in rows)
    capacity = parallel_capacity(top) if top > 1 else None
    print("varinit bench: " + describe_run(args.size, args.repeats, info, capacity))
    progress = None if args.quiet else (lambda line: print("  " + line, file=sys.stderr,
                                                            flush=True))
    results = measure(rows, args.size, args.repeats, progress=progress)
    print()
    print(markdown_table(results) if args.markdown else text_table(results))
    print("\n" + RATIO_NOTE)
    return 0
