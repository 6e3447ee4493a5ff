"""The ziggurat tables (docs/stream.md 5.2): the header is what the script
generates, and the exact tables have the properties the kernel relies on."""
from __future__ import annotations

import importlib.util
import math
import pathlib
from decimal import Decimal, localcontext

import numpy as np
import pytest

import streamref

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("gen_ziggurat", ROOT / "tools" / "gen_ziggurat.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exact(gen):
    return gen.solve()


def test_header_is_regenerated_exactly(gen):
    assert gen.render() == gen.HEADER.read_text()


def test_known_constants(exact):
    # Marsaglia & Tsang (2000), 128 layers: r = 3.442619855899, v = 9.91256303526217e-3
    assert abs(float(exact["r"]) - 3.442619855899) < 5e-12
    assert abs(float(exact["v"]) - 9.91256303526217e-3) < 1e-13
    assert abs(exact["closure"]) < Decimal(10) ** -40


def test_layers_have_equal_area(exact):
    X, F, v = exact["X"], exact["F"], exact["v"]
    with localcontext() as ctx:
        ctx.prec = 60
        for i in range(1, 128):
            assert abs(X[i] * (F[i + 1] - F[i]) - v) < Decimal(10) ** -40, i
        # layer 0: the rectangle X[0]·f(r) has the area of base plus tail
        assert abs(X[0] * F[1] - v) < Decimal(10) ** -40


def test_area_matches_scipy(exact):
    # v = r·f(r) + tail, with the tail from scipy's erfc (independent of the
    # script's own series)
    from scipy.special import erfc
    r = float(exact["r"])
    v = r * math.exp(-r * r / 2) + math.sqrt(math.pi / 2) * erfc(r / math.sqrt(2))
    assert abs(v - float(exact["v"])) < 1e-16


def test_edges_and_heights_are_monotone(exact):
    X, F = exact["X"], exact["F"]
    assert X[128] == 0 and F[128] == 1
    assert all(X[i] > X[i + 1] for i in range(128))
    assert all(F[i] < F[i + 1] for i in range(128))
    with localcontext() as ctx:
        ctx.prec = 60
        assert all(abs(F[i] - (-X[i] * X[i] / 2).exp()) < Decimal(10) ** -40 for i in range(128))


@pytest.mark.parametrize("dtype, mantissa", [(np.float32, 24), (np.float64, 53)])
def test_header_values_are_correctly_rounded(exact, dtype, mantissa):
    X, F, r_inv = streamref.ziggurat_tables(dtype)
    for stored, value in zip(X + F + [r_inv], exact["X"] + exact["F"] + [exact["r_inv"]]):
        stored = float(stored)
        below = float(np.nextafter(dtype(stored), dtype(-np.inf)))
        above = float(np.nextafter(dtype(stored), dtype(np.inf)))
        # no neighbour of the stored value is closer to the exact value
        err = abs(Decimal(stored) - value)
        assert err <= abs(Decimal(below) - value) and err <= abs(Decimal(above) - value)
        assert err <= Decimal(math.ulp(1.0) if mantissa == 53 else 2.0 ** -23) * max(value, Decimal(1))


def test_round_binary_ties_and_powers(gen):
    assert gen.round_binary(Decimal(1), 24) == 1.0
    assert gen.round_binary(Decimal(1) + Decimal(2) ** -24 * Decimal("1.0000001"), 24) == 1.0 + 2.0 ** -23
    assert gen.round_binary(Decimal(1) + Decimal(2) ** -24 * Decimal("0.9999999"), 24) == 1.0
    assert gen.round_binary(Decimal("0.1"), 53) == 0.1


@pytest.fixture(scope="module")
def truncated(gen):
    return gen.solve_truncated()


def test_truncated_layers(truncated):
    """The ziggurat of f on [0, 2]: equal areas, the layers below f(2) are
    rectangles of width 2 under the curve, the others follow f, and the top
    layer closes at the peak."""
    X, F, v = truncated["X"], truncated["F"], truncated["v"]
    with localcontext() as ctx:
        ctx.prec = 60
        f2 = (Decimal(-2)).exp()
        assert X[0] == 2 and F[0] == 0 and X[128] == 0 and F[128] == 1
        assert abs(truncated["closure"]) < Decimal(10) ** -40
        for k in range(128):
            assert abs(X[k] * (F[k + 1] - F[k]) - v) < Decimal(10) ** -40, k
            assert X[k] >= X[k + 1] and F[k] < F[k + 1]
            if F[k] <= f2:
                assert X[k] == 2                          # a full-width layer
                if F[k + 1] <= f2:
                    assert X[k + 1] == 2                  # wholly under the curve: always fast
            else:
                assert abs((-X[k] * X[k] / 2).exp() - F[k]) < Decimal(10) ** -40
    rectangles = sum(1 for k in range(128) if X[k] == 2 and X[k + 1] == 2)
    assert 25 <= rectangles <= 32


def test_truncated_area_matches_scipy(truncated):
    """The layers cover ∫_0^2 f plus the overhang; the area under the curve
    is √(π/2)·erf(√2), from scipy."""
    from scipy.special import erf
    X, F = truncated["X"], truncated["F"]
    inside = math.sqrt(math.pi / 2) * erf(math.sqrt(2))
    covered = 128 * float(truncated["v"])
    assert inside < covered < inside * 1.03                # the overhang: about 1 %
