"""An independent pure-Python/numpy model of stream version 2 (docs/stream.md).

Used by the tests to check the C kernels against the written definition.  It
builds lanes with ``varinit.PCG32`` (itself checked against the reference
vectors) and repeats the float arithmetic with numpy scalars, which round
every operation once, as the C code must.
"""
from __future__ import annotations

import decimal
import math
import pathlib
from fractions import Fraction

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


# --------------------------------------------------------------------------
# Section 5.1: unit values on (0, 1) and [0, 1)

def open_f32(d: int) -> np.float32:
    return np.float32(((d >> 8) << 1) | 1) * np.float32(2.0 ** -25)


def open_f64(d0: int, d1: int) -> np.float64:
    w = (d0 << 32) | d1
    return np.float64(((w >> 11) << 1) | 1) * np.float64(2.0 ** -54)


def unit_f32(d: int) -> np.float32:
    return np.float32(d >> 8) * np.float32(2.0 ** -24)


def unit_f64(d0: int, d1: int) -> np.float64:
    w = (d0 << 32) | d1
    return np.float64(w >> 11) * np.float64(2.0 ** -53)


class _Stream:
    """The arithmetic of one stream precision: its type, ``ln``, and the maps
    of 5.1 reading the draws a candidate of that precision reads."""

    def __init__(self, dtype):
        self.f32 = _stream_dtype(dtype) == np.float32
        self.T = np.float32 if self.f32 else np.float64
        self.ln = _log_f32 if self.f32 else _log_f64

    def unit(self, g: varinit.PCG32):
        if self.f32:
            return unit_f32(g.next32())
        d0 = g.next32()
        return unit_f64(d0, g.next32())

    def open(self, g: varinit.PCG32):
        if self.f32:
            return open_f32(g.next32())
        d0 = g.next32()
        return open_f64(d0, g.next32())

    def word(self, g: varinit.PCG32) -> int:
        """``g`` of 5.2: one draw (float32) or two, first high (float64)."""
        if self.f32:
            return g.next32()
        d0 = g.next32()
        return (d0 << 32) | g.next32()

    def unit_of_word(self, w: int):
        return unit_f32(w) if self.f32 else unit_f64(w >> 32, w & 0xFFFFFFFF)


def _stream_dtype(dtype) -> type:
    """float64 for float64 outputs, float32 for float32 and narrower ones."""
    return np.float64 if np.dtype(dtype) == np.float64 else np.float32


# --------------------------------------------------------------------------
# Section 5: the retry generator of a block position

def block_key(seed: int, block: int) -> int:
    return splitmix64_at(splitmix64_at(seed, 1), block + 1)


def retry_generator(seed: int, block: int, position: int) -> varinit.PCG32:
    key = block_key(seed, block)
    return varinit.PCG32(splitmix64_at(key, 2 * position + 33),
                         splitmix64_at(key, 2 * position + 34))


# --------------------------------------------------------------------------
# Section 5.2: the ziggurat tables, from their definition (tools/gen_ziggurat.py:
# exact values, correctly rounded); test_ziggurat_tables checks the C header
# against the same script

TOOL = pathlib.Path(__file__).resolve().parents[1] / "tools" / "gen_ziggurat.py"
_TABLES: dict = {}


def _generator():
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_ziggurat", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ziggurat_tables(dtype, truncated: bool = False) -> tuple[list, list, object]:
    """``(X[0..128], F[0..128], R_INV)`` in the stream precision of ``dtype``:
    of N(0, 1), or (``truncated``) of N(0, 1) on [-2, 2]."""
    T = _stream_dtype(dtype)
    if not _TABLES:
        gen = _generator()
        _TABLES.update(gen=gen, normal=gen.solve(), truncated=gen.solve_truncated())
    if (T, truncated) not in _TABLES:
        gen, bits = _TABLES["gen"], 24 if T == np.float32 else 53
        exact = _TABLES["truncated" if truncated else "normal"]
        X = [T(gen.round_binary(v, bits)) for v in exact["X"]]
        F = [T(gen.round_binary(v, bits)) for v in exact["F"]]
        r_inv = T(gen.round_binary(_TABLES["normal"]["r_inv"], bits))
        _TABLES[T, truncated] = (X, F, r_inv)
    return _TABLES[T, truncated]


def _new_stats(stats: dict | None) -> dict:
    if stats is None:
        stats = {}
    for k in ("candidates", "fixups", "wedge", "wedge_rejected", "tail", "tail_rounds"):
        stats.setdefault(k, 0)
    return stats


def ziggurat_candidate(S: _Stream, w: int, retry: varinit.PCG32, X, F, r_inv, stats: dict):
    """The standard value ``z'`` of the candidate of word ``w`` (None if a
    wedge test rejects it); its slow steps draw from ``retry``."""
    T = S.T
    i, s = w & 127, (w >> 7) & 1
    x = S.unit_of_word(w) * X[i]
    stats["candidates"] += 1
    if x < X[i + 1]:
        z = x
    elif i == 0:
        stats["tail"] += 1
        while True:
            stats["tail_rounds"] += 1
            t = (-S.ln(S.open(retry))) * r_inv
            e = -S.ln(S.open(retry))
            if t * t < e + e:
                break
        z = X[1] + t
    else:
        stats["wedge"] += 1
        y = F[i] + S.unit(retry) * (F[i + 1] - F[i])
        if S.ln(y) < (x * x) * T(-0.5):
            z = x
        else:
            stats["wedge_rejected"] += 1
            return None
    return -z if s else z


class _Retry:
    """A position's retry generator, made only when the position needs it."""

    def __init__(self, seed: int, block: int, position: int, stats: dict):
        self.args, self.stats, self.g = (seed, block, position), stats, None

    def __call__(self) -> varinit.PCG32:
        if self.g is None:
            self.stats["fixups"] += 1
            self.g = retry_generator(*self.args)
        return self.g


def _positions(seed: int, block: int, count: int, main, stats: dict, T) -> np.ndarray:
    """Positions 0 .. count-1 of a block: row p div 16 of lane p mod 16
    makes position p's main candidate; ``main(lane, retry)`` returns its
    value (using ``retry()`` for everything past the main draws)."""
    lanes = block_lanes(seed, block)
    out: list = []
    while len(out) < count:
        for l, g in enumerate(lanes):
            p = len(out)
            value = main(g, _Retry(seed, block, p, stats))
            if p < count:
                out.append(value)
    return np.array(out[:count], dtype=T)


def ziggurat_block(seed: int, block: int, count: int, mean: float, stddev: float,
                   lo: float = -math.inf, hi: float = math.inf, dtype=np.float32,
                   stats: dict | None = None, truncated: bool = False) -> np.ndarray:
    """The first ``count`` positions of block ``block`` of the ``normal``
    kernel (5.2), or of ``normal_trunc`` (``truncated``: the tables of
    N(0, 1) on [-2, 2]); ``mean``, ``stddev``, ``lo``, ``hi`` are taken as
    stream values (rounded to nearest).  ``stats`` (a dict) counts the slow
    paths."""
    S = _Stream(dtype)
    T = S.T
    X, F, r_inv = ziggurat_tables(dtype, truncated)
    mean, stddev, lo, hi = T(mean), T(stddev), T(lo), T(hi)
    stats = _new_stats(stats)

    def main(g, retry):
        w = S.word(g)
        while True:
            # the slow steps of the main candidate already draw from retry
            i = w & 127
            fast = S.unit_of_word(w) * X[i] < X[i + 1]
            z = ziggurat_candidate(S, w, retry() if not fast else None, X, F, r_inv, stats)
            if z is not None:
                x = mean + stddev * z
                if lo <= x <= hi:
                    return x
            w = S.word(retry())

    return _positions(seed, block, count, main, stats, T)


def _candidate_block(seed: int, block: int, count: int, candidate, dtype, stats) -> np.ndarray:
    """Positions of a kernel whose candidates take two unit draws:
    ``candidate(g)`` reads them from ``g`` and returns the value or None."""
    T = _Stream(dtype).T
    stats = _new_stats(stats)

    def main(g, retry):
        x = candidate(g)
        while x is None:
            x = candidate(retry())
        return x

    return _positions(seed, block, count, main, stats, T)


def flat_block(seed: int, block: int, count: int, params: dict, dtype=np.float32,
               stats: dict | None = None) -> np.ndarray:
    """The first ``count`` positions of block ``block`` of ``normal_flat`` (5.3)."""
    S = _Stream(dtype)
    T = S.T
    lo, hi, width, mean, scale, shift = (T(params[k]) for k in
                                         ("lo", "hi", "width", "mean", "scale", "shift"))
    half = T(0.5)

    def candidate(g):
        x = min(lo + S.unit(g) * width, hi)
        z = (x - mean) * scale
        q = (z * z - shift) * half
        e = -S.ln(S.open(g))
        return x if q < e and lo <= x <= hi else None

    return _candidate_block(seed, block, count, candidate, dtype, stats)


def tail_block(seed: int, block: int, count: int, params: dict, dtype=np.float32,
               stats: dict | None = None) -> np.ndarray:
    """The first ``count`` positions of block ``block`` of ``normal_tail`` (5.4)."""
    S = _Stream(dtype)
    T = S.T
    base, step, scale, shift, cut, lo, hi = (T(params[k]) for k in
                                             ("base", "step", "scale", "shift", "cut", "lo", "hi"))
    half, one = T(0.5), T(1)

    def candidate(g):
        t = (-S.ln(one - S.unit(g) * cut)) * scale
        x = base + step * t
        d = t + shift
        e = -S.ln(S.open(g))
        return x if (d * d) * half < e and lo <= x <= hi else None

    return _candidate_block(seed, block, count, candidate, dtype, stats)


# --------------------------------------------------------------------------
# Section 5.5: which kernel a truncated normal uses

def _nearest(x: Fraction, T):
    """``x`` (exact) rounded to nearest-even in ``T``; ±inf passes."""
    if isinstance(x, float) and math.isinf(x):
        return T(x)
    x = Fraction(x)
    guess = T(float(x))                    # within one ulp of the answer
    cands = [np.nextafter(guess, T(-np.inf)), guess, np.nextafter(guess, T(np.inf))]
    cands = [c for c in cands if np.isfinite(c)]
    best = min(cands, key=lambda c: (abs(Fraction(float(c)) - x), _odd(c)))
    return best


def _odd(v) -> int:
    bits = np.array(v).view(np.uint32 if np.array(v).dtype == np.float32 else np.uint64)
    return int(bits) & 1


def round_inward(x, T, up: bool):
    """The least ``T`` value >= x (``up``) or the greatest <= x; ±inf passes."""
    if isinstance(x, float) and math.isinf(x):
        return T(x)
    x = Fraction(x)
    v = _nearest(x, T)
    if up and Fraction(float(v)) < x:
        v = np.nextafter(v, T(np.inf))
    if not up and Fraction(float(v)) > x:
        v = np.nextafter(v, T(-np.inf))
    return v


def _exact(v) -> Fraction | float:
    v = float(v)
    return v if math.isinf(v) else Fraction(v)


def robert_cutoff(a: Fraction) -> Fraction:
    """``2·sqrt(e)/(a + sqrt(a² + 4)) · exp((a² − a·sqrt(a² + 4))/4)`` with
    ``decimal`` at 40 digits, as an exact Fraction of that decimal."""
    D = decimal.Decimal
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        a = D(a.numerator) / D(a.denominator)
        root = (a * a + 4).sqrt()
        cut = 2 * D(1).exp().sqrt() / (a + root) * ((a * a - a * root) / 4).exp()
    return Fraction(cut)


THRESHOLD = Fraction(3, 2)
TRUNC_NEAR = Fraction(19, 10)


def choose_kernel(mean: float, stddev: float, low: float | None = None,
                  high: float | None = None, dtype=np.float32) -> tuple[str, dict]:
    """``(kernel name, parameters)`` of a truncated normal: the name is
    ``normal``, ``normal_flat`` or ``normal_tail`` and the parameters (stream
    values) are those the block function of that kernel takes."""
    T = _stream_dtype(dtype)
    if low is None:
        low = Fraction(mean) - 2 * Fraction(stddev)
    if high is None:
        high = Fraction(mean) + 2 * Fraction(stddev)
    lo, hi = round_inward(low, T, up=True), round_inward(high, T, up=False)
    mean_s, stddev_s = T(mean), T(stddev)
    m, sd = Fraction(float(mean_s)), Fraction(float(stddev_s))
    a = (_exact(lo) - m) / sd if not math.isinf(lo) else float(lo)
    b = (_exact(hi) - m) / sd if not math.isinf(hi) else float(hi)
    if TRUNC_NEAR <= -a <= 2 and TRUNC_NEAR <= b <= 2:
        return "normal_trunc", dict(mean=mean_s, stddev=stddev_s, lo=lo, hi=hi)
    if a <= 0 <= b:
        if max(-a, b) >= THRESHOLD:
            return "normal", dict(mean=mean_s, stddev=stddev_s, lo=lo, hi=hi)
        return "normal_flat", _flat_params(lo, hi, mean_s, stddev_s, 0.0, T)
    above = a > 0
    near = a if above else -b              # finite: the nearer edge is a bound
    width = b - a
    if width < robert_cutoff(near):
        return "normal_flat", _flat_params(lo, hi, mean_s, stddev_s, float(near), T)
    edge = np.float64(float(near))         # a in float64
    lam = (edge + np.sqrt(edge * edge + np.float64(4))) / np.float64(2)
    base, step = (lo, stddev_s) if above else (hi, -stddev_s)
    return "normal_tail", dict(base=base, step=step, scale=T(np.float64(1) / lam),
                               shift=T(edge - lam), cut=_nearest(truncated_mass(lam, width), T),
                               lo=lo, hi=hi)


def truncated_mass(lam, width) -> Fraction:
    """``1 − exp(−λ·w)`` (1 for w = ∞) with ``decimal`` at 40 digits."""
    if isinstance(width, float) and math.isinf(width):
        return Fraction(1)
    D = decimal.Decimal
    with decimal.localcontext() as ctx:
        ctx.prec = 40
        w = D(width.numerator) / D(width.denominator)
        return Fraction(1 - (-D(float(lam)) * w).exp())


def _flat_params(lo, hi, mean_s, stddev_s, c: float, T) -> dict:
    c = np.float64(c)
    return dict(lo=lo, hi=hi, width=_nearest(Fraction(float(hi)) - Fraction(float(lo)), T),
                mean=mean_s, scale=T(np.float64(1) / np.float64(stddev_s)), shift=T(c * c))


def kernel_block(name: str, seed: int, block: int, count: int, params: dict, dtype,
                 stats: dict | None = None) -> np.ndarray:
    if name in ("normal", "normal_trunc"):
        return ziggurat_block(seed, block, count, params["mean"], params["stddev"],
                              params["lo"], params["hi"], dtype, stats,
                              truncated=name == "normal_trunc")
    if name == "normal_flat":
        return flat_block(seed, block, count, params, dtype, stats)
    if name == "normal_tail":
        return tail_block(seed, block, count, params, dtype, stats)
    raise ValueError(name)


def truncated_block(seed: int, block: int, count: int, mean: float, stddev: float,
                    low: float | None = None, high: float | None = None, dtype=np.float32,
                    stats: dict | None = None) -> np.ndarray:
    """The first ``count`` outputs of block ``block`` of
    ``fill_truncated_normal`` (the kernel chosen by :func:`choose_kernel`)."""
    name, params = choose_kernel(mean, stddev, low, high, dtype)
    return kernel_block(name, seed, block, count, params, dtype, stats)
