"""Write varinit's random bits to stdout, for external RNG test batteries.

Modes (all little-endian 32-bit words, in stream order):

``raw``
    ``varinit.random_raw`` of one seed: the lane stream every sampler reads.
``normal32``
    Bit patterns of float32 ``varinit.fill_normal`` output (mean 0, stddev 1).
``interleave``
    The raw streams of seeds 0, 1, 2, 3, word-interleaved (s0 w0, s1 w0, ...),
    to expose correlation between neighbouring seeds.
``children``
    Like ``interleave`` over ``derive_seed(seed, "child0" .. "child3")``.

Usage::

    python tools/rng_stream.py raw --seed 0 | RNG_test stdin32 -tlmax 1TB
    python tools/rng_stream.py raw --seed 0 | dieharder -g 200 -d 0

Writes forever unless ``--bytes N`` is given; a closed pipe ends it quietly.
"""
import argparse
import os
import sys

import numpy as np

import varinit

# 64 MiB chunks: big enough that the per-call cost vanishes next to the fill.
CHUNK_WORDS = 1 << 24
INTERLEAVED_SEEDS = 4


def _raw_chunks(seed, words):
    """Yield consecutive ``uint32`` chunks of ``random_raw`` for ``seed``."""
    buf = np.empty(words, np.uint32)
    offset = 0
    while True:
        yield varinit.random_raw(buf, seed=seed, offset=offset)
        offset += words


def _normal_chunks(seed, words):
    """Yield consecutive float32 ``fill_normal`` chunks, viewed as ``uint32``."""
    buf = np.empty(words, np.float32)
    offset = 0
    while True:
        yield varinit.fill_normal(buf, seed=seed, offset=offset).view(np.uint32)
        offset += words


def _interleaved_chunks(seeds, words):
    """Yield the raw streams of ``seeds`` interleaved word by word."""
    per_seed = words // len(seeds)
    sources = [_raw_chunks(s, per_seed) for s in seeds]
    out = np.empty((per_seed, len(seeds)), np.uint32)
    while True:
        for column, source in enumerate(sources):
            out[:, column] = next(source)
        yield out.reshape(-1)


def chunks(mode, seed, words=CHUNK_WORDS):
    """Yield the ``uint32`` chunks of the stream named by ``mode``.

    Parameters
    ----------
    mode : {"raw", "normal32", "interleave", "children"}
        Which stream (see the module docstring).
    seed : int
        Stream seed for ``raw`` / ``normal32``; root seed for ``children``.
        ``interleave`` always uses seeds 0, 1, 2, 3 from ``seed`` upward.
    words : int, optional
        Words per chunk.

    Returns
    -------
    iterator of numpy.ndarray
        Endless ``uint32`` chunks.
    """
    if mode == "raw":
        return _raw_chunks(seed, words)
    if mode == "normal32":
        return _normal_chunks(seed, words)
    if mode == "interleave":
        return _interleaved_chunks([seed + k for k in range(INTERLEAVED_SEEDS)], words)
    if mode == "children":
        children = [varinit.derive_seed(seed, f"child{k}") for k in range(INTERLEAVED_SEEDS)]
        return _interleaved_chunks(children, words)
    raise ValueError(f"unknown mode {mode!r}")


def main(argv=None):
    """Command-line entry point; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["raw", "normal32", "interleave", "children"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bytes", type=int, default=None,
                        help="stop after this many bytes (default: never)")
    args = parser.parse_args(argv)
    if sys.byteorder != "little":
        raise SystemExit("rng_stream.py writes native words; run it on a little-endian host")
    remaining = args.bytes
    out = sys.stdout.buffer
    try:
        for chunk in chunks(args.mode, args.seed):
            data = chunk.tobytes() if remaining is None else chunk.tobytes()[:remaining]
            out.write(data)
            if remaining is not None:
                remaining -= len(data)
                if remaining <= 0:
                    break
        out.flush()
    except BrokenPipeError:
        # The reader (RNG_test, dieharder) stops when it has enough; silence
        # Python's flush-at-exit error on the dead pipe.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
