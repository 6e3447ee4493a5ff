"""Generate ``src/varinit/csrc/vi_ziggurat.h``: the ziggurat tables of
docs/stream.md section 5.2, computed in decimal arithmetic and stored
correctly rounded to float32 and float64.

    python tools/gen_ziggurat.py            # rewrite the header
    python tools/gen_ziggurat.py --check    # exit 1 if the header differs

The ziggurat covers ``f(x) = exp(-x²/2)``, x >= 0, with 128 layers of equal
area ``v``.  Layer 0 is the rectangle ``[0, r] × [0, f(r)]`` plus the tail
beyond ``r``; layer i >= 1 is ``[0, X[i]] × [f(X[i]), f(X[i+1])]``.  Given
``r``, ``v = r·f(r) + ∫_r^∞ f`` and the edges follow from
``f(X[i+1]) = f(X[i]) + v/X[i]``; ``r`` is the root of the closure
``f(X[127]) + v/X[127] = 1`` (the top layer ends at the peak, X[128] = 0).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
from decimal import Decimal, localcontext
from fractions import Fraction

LAYERS = 128
PRECISION = 60          # decimal digits carried; the results need ~20
HEADER = pathlib.Path(__file__).resolve().parents[1] / "src" / "varinit" / "csrc" / "vi_ziggurat.h"


def _pi() -> Decimal:
    """pi by Machin's formula, at the context precision."""
    def arctan_inv(n: int) -> Decimal:
        x = Decimal(1) / n
        x2, term, total, k = x * x, x, x, 1
        while True:
            term = -term * x2
            k += 2
            step = term / k
            if step == 0 or abs(step) < Decimal(10) ** -(PRECISION + 5):
                return total
            total += step
    return 4 * (4 * arctan_inv(5) - arctan_inv(239))


def _erfc(x: Decimal) -> Decimal:
    """erfc(x) for 0 < x < 5 from the all-positive series
    erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (1·3·…·(2n+1))."""
    term, total, n = x, x, 0
    while term > Decimal(10) ** -(PRECISION + 5):
        n += 1
        term = term * 2 * x * x / (2 * n + 1)
        total += term
    return 1 - 2 / _pi().sqrt() * (-x * x).exp() * total


def _f(x: Decimal) -> Decimal:
    return (-x * x / 2).exp()


def _area(r: Decimal) -> Decimal:
    """v: the base rectangle plus the tail ∫_r^∞ f = √(π/2)·erfc(r/√2)."""
    return r * _f(r) + (_pi() / 2).sqrt() * _erfc(r / Decimal(2).sqrt())


def _edges(r: Decimal, v: Decimal | None = None) -> tuple[list[Decimal], Decimal, Decimal]:
    """``(X[1..127], v, closure)`` for layers of area ``v`` (default: the
    normal's, from r); closure = f(X[127]) + v/X[127] − 1, or a positive
    stand-in when the layers reach the peak too early (r too small or v too
    large)."""
    v = _area(r) if v is None else v
    xs = [r]
    for _ in range(LAYERS - 2):
        y = _f(xs[-1]) + v / xs[-1]
        if y >= 1:
            return xs, v, Decimal(1)
        xs.append((-2 * y.ln()).sqrt())
    return xs, v, _f(xs[-1]) + v / xs[-1] - 1


def solve() -> dict[str, object]:
    """The exact tables as decimals: ``r``, ``v``, ``X[0..128]``, ``F[0..128]``."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        lo, hi = Decimal(3), Decimal(4)          # closure > 0 at 3, < 0 at 4
        assert _edges(lo)[2] > 0 > _edges(hi)[2]
        for _ in range(PRECISION * 4):            # 2^-240 ≪ 10^-60
            mid = (lo + hi) / 2
            if _edges(mid)[2] > 0:
                lo = mid
            else:
                hi = mid
        r = (lo + hi) / 2
        xs, v, closure = _edges(r)
        X = [v / _f(r)] + xs + [Decimal(0)]
        F = [_f(x) for x in X[:-1]] + [Decimal(1)]
        return {"r": r, "v": v, "closure": closure, "X": X, "F": F, "r_inv": 1 / r}


TRUNCATION = 2          # the truncated ziggurat covers N(0, 1) on [-2, 2]


def _truncated_layers(c: Decimal, v: Decimal) -> tuple[list[Decimal], list[Decimal], Decimal]:
    """``(X[0..127], h[0..127], closure)`` for layers of area ``v`` under f on
    [0, c]: layer i spans heights [h_i, h_i + v/X_i] with width
    X_i = min(c, f⁻¹(h_i)), h_0 = 0; closure = h_127 + v/X_127 − 1 (positive
    stand-in if the layers reach the peak early)."""
    fc, X, h = _f(c), [], [Decimal(0)]
    for i in range(LAYERS):
        x = c if h[-1] <= fc else (-2 * h[-1].ln()).sqrt()
        X.append(x)
        if i == LAYERS - 1:
            return X, h, h[-1] + v / x - 1
        h.append(h[-1] + v / x)
        if h[-1] >= 1:
            return X, h, Decimal(1)
    raise AssertionError("unreachable")


def solve_truncated(c: int = TRUNCATION) -> dict[str, object]:
    """The tables of the ziggurat of f on [0, c] (docs/stream.md 5.2): 128
    layers of equal area ``v`` (the root of the closure).  The lowest ones,
    below f(c), are rectangles of width c, entirely under the curve; above
    them the layers are the usual ones.  X[k] is layer k's width and F[k]
    its bottom height (X[128] = 0, F[128] = 1): the kernel is the
    ziggurat's, and layer 0 never fails its fast test, so there is no tail."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        c = Decimal(c)
        lo, hi = Decimal("0.001"), Decimal("0.05")   # closure < 0 at lo, > 0 at hi
        assert _truncated_layers(c, lo)[2] < 0 < _truncated_layers(c, hi)[2]
        for _ in range(PRECISION * 4):
            mid = (lo + hi) / 2
            if _truncated_layers(c, mid)[2] > 0:
                hi = mid
            else:
                lo = mid
        v = (lo + hi) / 2
        X, h, closure = _truncated_layers(c, v)
        return {"c": c, "v": v, "closure": closure, "X": X + [Decimal(0)], "F": h + [Decimal(1)]}


def round_binary(x: Decimal, mantissa: int) -> float:
    """``x`` rounded to nearest-even with a ``mantissa``-bit significand
    (24: float32, 53: float64), returned as the exact Python float.  The
    decimal carries far more digits than a tie could need; an input that
    close to a tie is refused rather than rounded on a guess."""
    q = Fraction(x)
    if q == 0:
        return 0.0
    e = q.numerator.bit_length() - q.denominator.bit_length()
    if Fraction(2) ** e > q:
        e -= 1                                  # now 2^e <= q < 2^(e+1)
    ulp = Fraction(2) ** (e - mantissa + 1)
    scaled = q / ulp
    whole = scaled.numerator // scaled.denominator
    frac = scaled - whole
    assert abs(frac - Fraction(1, 2)) > Fraction(1, 10 ** 30), "too close to a tie"
    if frac > Fraction(1, 2) or (frac == Fraction(1, 2) and whole % 2):
        whole += 1
    return float(whole * ulp)


def _c_float(value: float, suffix: str) -> str:
    """A C hexadecimal literal of ``value`` (exact), without trailing zeros."""
    mantissa, exponent = value.hex().split("p")
    return mantissa.rstrip("0").rstrip(".") + "p" + exponent + suffix


def render() -> str:
    t, u = solve(), solve_truncated()
    lines = [
        "/* vi_ziggurat.h - the ziggurat tables of docs/stream.md section 5.2.",
        " *",
        " * Generated by tools/gen_ziggurat.py: exact values computed in decimal",
        f" * arithmetic ({PRECISION} digits), each correctly rounded to float32 and",
        " * to float64.  Do not edit; rerun the script.",
        " *",
        " *",
        " * vi_zig_*: N(0, 1), 128 layers, tail beyond",
        f" *   r = {t['r']:.30f}, layer area v = {t['v']:.30e}",
        f" * vi_zigt_*: N(0, 1) on [-{TRUNCATION}, {TRUNCATION}], 128 layers, no tail,",
        f" *   layer area v = {u['v']:.30e}",
        " */",
        "#ifndef VARINIT_VI_ZIGGURAT_H",
        "#define VARINIT_VI_ZIGGURAT_H",
        "",
        f"#define VI_ZIG_LAYERS {LAYERS}",
        f"#define VI_ZIG_R_INV_F32 {_c_float(round_binary(t['r_inv'], 24), 'f')}",
        f"#define VI_ZIG_R_INV_F64 {_c_float(round_binary(t['r_inv'], 53), '')}",
        f"#define VI_ZIG_TRUNCATION {TRUNCATION}",
        "",
    ]
    for prefix, tables in (("vi_zig", t), ("vi_zigt", u)):
        for name, key in (("x", "X"), ("f", "F")):
            for bits, mantissa, suffix, ctype in ((32, 24, "f", "float"), (64, 53, "", "double")):
                values = [_c_float(round_binary(d, mantissa), suffix) for d in tables[key]]
                lines.append(f"static const {ctype} {prefix}_{name}_f{bits}[VI_ZIG_LAYERS + 1] = {{")
                for i in range(0, len(values), 4):
                    lines.append("    " + ", ".join(values[i:i + 4]) + ",")
                lines.append("};")
                lines.append("")
    lines.append("#endif")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if HEADER.read_text() != text:
            print(f"{HEADER} differs from what {pathlib.Path(__file__).name} generates")
            return 1
        return 0
    HEADER.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
