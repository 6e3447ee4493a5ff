"""An independent pure-Python/numpy model of stream version 1 (docs/stream.md).

Used by the tests to check the C kernels against the written definition.  It
builds lanes with ``varinit.PCG32`` (itself checked against the reference
vectors) and repeats the float arithmetic with numpy scalars, which round
every operation once, as the C code must.
"""
from __future__ import annotations

import numpy as np

import varinit

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
BLOCK, LANES = 4096, 16


def mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def splitmix64_at(x: int, j: int) -> int:
    return mix64((x + j * GOLDEN) & MASK64)


def block_lanes(seed: int, block: int) -> list[varinit.PCG32]:
    key = splitmix64_at(splitmix64_at(seed, 1), block + 1)
    return [varinit.PCG32(splitmix64_at(key, 2 * l + 1), splitmix64_at(key, 2 * l + 2))
            for l in range(LANES)]


def raw_block(seed: int, block: int, draws_per_lane: int) -> np.ndarray:
    """draws[r, l] = draw r of lane l of the block."""
    return np.stack([g.random_raw(draws_per_lane) for g in block_lanes(seed, block)], axis=1)


def _log_f32(s: np.float32) -> np.float32:
    f = np.float32
    bits = int(np.array(s, np.float32).view(np.uint32))
    e = (bits >> 23) - 127
    m = np.array((bits & 0x7FFFFF) | 0x3F800000, np.uint32).view(np.float32)[()]
    if m > f(1.41421356):
        m, e = m * f(0.5), e + 1
    t = (m - f(1)) / (m + f(1))
    t2 = t * t
    p = f(1) / f(9)
    for c in (f(1) / f(7), f(1) / f(5), f(1) / f(3), f(1)):
        p = p * t2 + c
    ef = f(e)
    return (ef * f(-2.12194440e-4) + (t + t) * p) + ef * f(0.693359375)


def _log_f64(s: float) -> np.float64:
    d = np.float64
    bits = int(np.array(s, np.float64).view(np.uint64))
    e = (bits >> 52) - 1023
    m = np.array((bits & ((1 << 52) - 1)) | 0x3FF0000000000000, np.uint64).view(np.float64)[()]
    if m > d(1.4142135623730951):
        m, e = m * d(0.5), e + 1
    t = (m - d(1)) / (m + d(1))
    t2 = t * t
    coeffs = [d(1) / d(k) for k in range(23, 0, -2)]
    p = coeffs[0]
    for c in coeffs[1:]:
        p = p * t2 + c
    ef = d(e)
    return (ef * d(1.90821492927058770002e-10) + (t + t) * p) + ef * d(6.93147180369123816490e-01)


def signed_f32(r: int) -> np.float32:
    return np.float32(((r >> 8) << 1 | 1) - (1 << 24)) * np.float32(2.0 ** -24)


def signed_f64(first: int, second: int) -> np.float64:
    w = (first << 32) | second
    return np.float64(((w >> 11) << 1 | 1) - (1 << 53)) * np.float64(2.0 ** -53)


def polar_block(seed: int, block: int, count: int, mean: float, stddev: float,
                lo: float, hi: float, dtype) -> np.ndarray:
    """The first ``count`` outputs of a normal/truncated-normal block."""
    f32 = np.dtype(dtype) == np.float32
    T = np.float32 if f32 else np.float64
    mean, stddev, lo, hi = T(mean), T(stddev), T(lo), T(hi)
    lanes = block_lanes(seed, block)
    out: list = []
    while len(out) < count:
        xs, ys = [], []
        for g in lanes:
            if f32:
                u, v = signed_f32(g.next32()), signed_f32(g.next32())
            else:
                a, b = g.next32(), g.next32()
                c, d = g.next32(), g.next32()
                u, v = signed_f64(a, b), signed_f64(c, d)
            s = u * u + v * v
            if s < T(1):
                log = _log_f32(s) if f32 else _log_f64(s)
                f = np.sqrt((T(-2) * log) / s)
                x, y = mean + stddev * (u * f), mean + stddev * (v * f)
                if lo <= x <= hi:
                    xs.append(x)
                if lo <= y <= hi:
                    ys.append(y)
        out.extend(xs + ys)
    return np.array(out[:count], dtype=T)
