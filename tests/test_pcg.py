"""PCG32 against the reference implementation's published output."""
import numpy as np
import pytest

import varinit

# pcg-c's pcg32-demo, pcg32_srandom_r(&rng, 42u, 54u), round 1, 32-bit outputs.
DEMO_42_54 = [0xA15C02B7, 0x7B47F409, 0xBA1D3330, 0x83D2F293, 0xBFA4784B, 0xCBED606E]


def test_reference_demo_vector():
    g = varinit.PCG32(42, 54)
    assert [g.next32() for _ in range(6)] == DEMO_42_54


def test_random_raw_matches_next32():
    a, b = varinit.PCG32(42, 54), varinit.PCG32(42, 54)
    raw = a.random_raw(1000)
    assert raw.dtype == np.uint32 and raw.shape == (1000,)
    assert raw.tolist() == [b.next32() for _ in range(1000)]
    assert list(raw[:6]) == DEMO_42_54


def test_state_matches_reference_lcg():
    # pcg32_srandom_r: inc = 2*initseq + 1, state = (a*(a*0 + inc) + initstate)... stepped.
    a, mask = 6364136223846793005, (1 << 64) - 1
    inc = (54 << 1) | 1
    state = (0 * a + inc) & mask
    state = ((state + 42) * a + inc) & mask
    assert varinit.PCG32(42, 54).state == (state, inc)


@pytest.mark.parametrize("delta", [0, 1, 2, 15, 16, 1000, 4097])
def test_advance_equals_stepping(delta):
    stepped, jumped = varinit.PCG32(7, 11), varinit.PCG32(7, 11)
    stepped.random_raw(delta)
    jumped.advance(delta)
    assert jumped.state == stepped.state
    assert jumped.next32() == stepped.next32()


def test_advance_backwards_and_huge():
    g = varinit.PCG32(1, 2)
    start = g.state
    g.advance(12345).advance(-12345)
    assert g.state == start
    g.advance(2**64)               # a full period is the identity
    assert g.state == start
    g.advance(2**63).advance(2**63)
    assert g.state == start


@pytest.mark.parametrize("bad", [-1, 2**64])
def test_seed_range(bad):
    with pytest.raises(ValueError):
        varinit.PCG32(bad, 0)


@pytest.mark.parametrize("bad", [1.5, "3", True, None])
def test_seed_type(bad):
    with pytest.raises(TypeError):
        varinit.PCG32(0, bad)
