"""The ``varinit`` command line: ``init``, ``verify``, ``clean``, ``info``, ``bench`` (and ``demo``).

``varinit`` with no arguments (or ``python -m varinit``) runs the quick demo.
Exit codes: 0 success, 1 a failed verification, a write that failed midway
(an I/O error, the disk filling up; no partial file is left) or an
unexpected error, 2 bad arguments (unknown initializer, bad shape or dtype,
unwritable path, not enough disk space for the file), 130 interrupted by
Ctrl-C (no partial file is left).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import Any, NoReturn

from .blocks import as_shape

__all__ = ["main", "build_parser", "parse_shape", "parse_initializer"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A bad command-line argument: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def parse_shape(text: str) -> tuple[int, ...]:
    """Parse ``"1000000,128"`` (or ``1000000x128``) into a shape tuple.

    Parameters
    ----------
    text : str
        Non-negative integers separated by commas or ``x``; underscores are
        allowed inside numbers; ``"()"`` is the 0-d shape (an empty string
        is an error: it is usually a missing value).

    Returns
    -------
    tuple of int

    Raises
    ------
    UsageError
        For anything else.
    """
    if not text.strip():
        raise UsageError("empty --shape: give the dimensions, e.g. 1000000,128 "
                         "(or () for a 0-d table)")
    cleaned = text.strip().strip("()[]").strip()
    if not cleaned:
        return as_shape(())
    parts = re.split(r"\s*[,xX]\s*", cleaned)
    if parts and parts[-1] == "":
        parts = parts[:-1]                      # "1000," is a 1-d shape
    dims = []
    for part in parts:
        if not re.fullmatch(r"\d+(_\d+)*", part):
            raise UsageError(f"bad --shape {text!r}: expected non-negative integers "
                             "separated by commas, e.g. 1000000,128")
        dims.append(int(part))
    return as_shape(dims)


def parse_initializer(text: str, seed: int | None) -> Any:
    """Build an initializer from a name, a Keras config JSON string or ``@file.json``.

    Parameters
    ----------
    text : str
        ``"glorot_uniform"`` (any name :func:`varinit.get` knows), a JSON
        config such as ``'{"class_name": "RandomNormal", "config": {"stddev":
        0.01}}'``, or ``@path`` to a file holding such JSON.
    seed : int or None
        If given, replaces the config's seed (initializers without a seed,
        such as ``zeros``, ignore it).

    Returns
    -------
    Initializer

    Raises
    ------
    UsageError
        For an unknown name, bad JSON, an unreadable file or a bad config.
    """
    import varinit

    identifier: Any = text
    if text.startswith("@"):
        try:
            with open(text[1:], encoding="utf-8") as f:
                identifier = json.load(f)
        except OSError as exc:
            raise UsageError(f"cannot read --initializer file {text[1:]!r}: "
                             f"{exc.strerror or exc}") from None
        except ValueError as exc:
            raise UsageError(f"--initializer file {text[1:]!r} is not valid JSON: {exc}") from None
    elif text.lstrip().startswith("{"):
        try:
            identifier = json.loads(text)
        except ValueError as exc:
            raise UsageError(f"--initializer is not valid JSON: {exc}") from None
    try:
        init = varinit.get(identifier)
        if init is None:
            raise ValueError("no initializer given")
        if seed is not None:
            config = varinit.serialize(init)
            if config is not None and "seed" in config.get("config", {}):
                config["config"]["seed"] = seed
                init = varinit.deserialize(config)
    except (ValueError, TypeError, KeyError) as exc:
        raise UsageError(f"bad --initializer {text!r}: {_one_line(exc)}") from None
    return init


def _seed(text: str) -> int:
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 1 << 64:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**64): {text!r}")
    return value


def _threads_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``varinit`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = _Parser(prog="varinit", description="Fill huge tables with neural-network "
                     "initial weights, reproducibly. Without a command: a quick demo.")
    import varinit
    parser.add_argument("--version", action="version",
                        version=f"varinit {varinit.__version__} "
                                f"(stream version {varinit.STREAM_VERSION})")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("init", help="write an initialised table to .npy or .safetensors",
                       description="Write init(shape, dtype) to a file, streaming, with bounded "
                       "memory; provenance goes into the file (or a .npy sidecar).")
    p.add_argument("--shape", required=True, help="e.g. 1000000,128")
    p.add_argument("--initializer", "-i", default="glorot_uniform",
                   help="a name (glorot_uniform, he_normal, ...), a Keras config as JSON, "
                        "or @file.json (default: glorot_uniform)")
    p.add_argument("--dtype", default="float32",
                   help="float16, bfloat16, float32 (default) or float64; also bf16, fp16, "
                        "f32, ... (any case)")
    p.add_argument("--seed", type=_seed, default=None,
                   help="integer seed (default: the config's; unseeded draws one and prints it)")
    p.add_argument("--out", "-o", required=True, help="output file, .npy or .safetensors")
    p.add_argument("--name", default=None,
                   help="tensor name in a .safetensors file (default: weight)")
    p.add_argument("--force", "-f", action="store_true",
                   help="replace an existing file (default: refuse)")
    p.add_argument("--threads", type=_threads_arg, default=None,
                   help="threads to use (default: all available)")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar (default: on when stderr is a terminal)")
    p.add_argument("--fsync", action=argparse.BooleanOptionalAction, default=True,
                   help="flush to disk before finishing (default: on)")

    p = sub.add_parser("verify", help="regenerate a file's tables and compare",
                       description="Regenerate the tables of a file written by varinit from "
                       "its provenance and compare them byte for byte (exit 0 if equal, 1 if not).")
    p.add_argument("file")
    p.add_argument("--threads", type=_threads_arg, default=None)
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)

    p = sub.add_parser("clean", help="remove the temporaries of interrupted saves in a folder",
                       description="Remove the .NAME.HOST-PID-XXXXXXXX.partial files that saves "
                       "killed outright (SIGKILL, power loss) left in FOLDER; running saves' "
                       "temporaries, other hosts' and any other file are left alone.")
    p.add_argument("folder")
    p.add_argument("--dry-run", "-n", action="store_true", help="list them, remove nothing")

    p = sub.add_parser("info", help="show version, stream version, threads and kernel")
    p.add_argument("--json", action="store_true", help="print JSON")

    sub.add_parser("bench", help="benchmark varinit's fills against numpy (and torch)",
                   add_help=False)
    sub.add_parser("demo", help="the quick demo (also: no command)")
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
        if exc.filename and str(exc.filename) not in text:
            text = f"{text}: {exc.filename}"
    return " ".join(text.split())


def _progress_default(flag: bool | None) -> bool:
    if flag is not None:
        return flag
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _threads_context(n: int | None) -> Any:
    import contextlib

    import varinit
    return varinit.num_threads(n) if n is not None else contextlib.nullcontext()


# Short spellings people type for the table dtypes (PyTorch's, safetensors').
_DTYPE_ALIASES = {"bf16": "bfloat16", "fp16": "float16", "f16": "float16", "half": "float16",
                  "fp32": "float32", "f32": "float32", "fp64": "float64", "f64": "float64"}


def _dtype_name(text: str) -> str:
    """The command line's spelling of a dtype, as :func:`varinit.save` takes it:
    a dtype name or a short alias (``bf16``, ``fp16``, ``f32``, ...), in any case."""
    lower = text.lower()
    return _DTYPE_ALIASES.get(lower, lower)


def _cmd_init(args: argparse.Namespace) -> int:
    from . import io
    from .dtypes import table_dtype

    shape = parse_shape(args.shape)
    try:
        dtype = table_dtype(_dtype_name(args.dtype))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad --dtype {args.dtype!r}: {_one_line(exc)}") from None
    init = parse_initializer(args.initializer, args.seed)
    if args.name is not None and not args.out.endswith(".safetensors"):
        raise UsageError(f"--name names the tensor in a .safetensors file; {args.out} is not one")
    start = time.perf_counter()
    try:
        # Everything save() checks before writing: bad arguments (exit 2).
        plan = io.plan_save(args.out, init, shape, dtype, name=args.name or "weight",
                            overwrite=args.force)
    except FileExistsError:
        raise UsageError(f"{args.out} exists; pass --force to replace it") from None
    except (ValueError, TypeError, NotImplementedError, OSError) as exc:
        raise UsageError(_one_line(exc)) from None
    try:
        with _threads_context(args.threads):
            plan.write(progress=_progress_default(args.progress), fsync=args.fsync)
    except OSError as exc:      # the disk failed or filled up mid-write (exit 1)
        print(f"varinit: error: writing {args.out} failed: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    elapsed = time.perf_counter() - start
    record = io.provenance(args.out)
    tensor = next(iter(record["tensors"].values()))
    nbytes = plan.total_bytes
    cls = tensor["initializer"].get("class_name", type(init).__name__)
    print(f"wrote {args.out}: shape {shape} {dtype.name}, {cls} seed={tensor['seed']}, "
          f"{io.format_bytes(nbytes)} in {elapsed:.2f} s "
          f"({io.format_bytes(nbytes / max(elapsed, 1e-9))}/s)")
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from . import io

    try:
        with _threads_context(args.threads):
            report = io.verify(args.file, progress=_progress_default(args.progress))
    except (ValueError, TypeError, OSError, KeyError) as exc:
        raise UsageError(f"cannot verify {args.file}: {_one_line(exc)}") from None
    print(f"{args.file}: {report.status}")
    print(report.summary())
    return EXIT_OK if report.ok else EXIT_FAILED


def _cmd_clean(args: argparse.Namespace) -> int:
    from . import io

    try:
        paths = io.clean(args.folder, dry_run=args.dry_run)
    except OSError as exc:
        raise UsageError(f"cannot clean {args.folder}: {_one_line(exc)}") from None
    verb = "would remove" if args.dry_run else "removed"
    for path in paths:
        print(f"{verb} {path}")
    print(f"{verb} {len(paths)} stale temporar{'y' if len(paths) == 1 else 'ies'} in {args.folder}")
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    import varinit

    info = varinit.runtime_info()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        for key, value in info.items():
            if isinstance(value, (list, tuple)):
                value = ", ".join(map(str, value))
            print(f"{key}: {value}")
    return EXIT_OK


def _cmd_bench(rest: list[str]) -> int:
    from . import benchmarks
    return int(benchmarks.run_bench(rest) or 0)


def main(argv: list[str] | None = None) -> int:
    """Run the ``varinit`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 failure, 2 bad arguments, 130 Ctrl-C.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if not argv or argv[0] == "demo":
            if len(argv) > 1:
                raise UsageError(f"demo takes no arguments, got {' '.join(argv[1:])!r}")
            from ._demo import run_demo
            run_demo()
            return EXIT_OK
        if argv[0] == "bench":
            return _cmd_bench(argv[1:])
        args = build_parser().parse_args(argv)
        if args.command is None:
            raise UsageError("no command given")
        handler = {"init": _cmd_init, "verify": _cmd_verify, "clean": _cmd_clean,
                   "info": _cmd_info}[args.command]
        return handler(args)
    except UsageError as exc:
        print(f"varinit: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nvarinit: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `varinit info | head -1`
        return EXIT_OK
