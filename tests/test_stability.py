"""Stream version 1 locked: SHA-256 prefixes of fixed fills.

If one of these changes, the stream changed: that must be a deliberate,
versioned event (bump STREAM_VERSION, update docs/stream.md and these
values together), never a side effect of a refactor or a new SIMD path.
"""
import hashlib

import numpy as np
import pytest

import varinit

N, OFFSET = 3 * 4096 + 17, 5          # three blocks and a tail, starting inside block 0
ARGS = {"uniform": (-0.05, 0.05), "normal": (0.0, 0.02), "truncated_normal": (0.0, 0.02), "raw": ()}
FILLS = {"uniform": varinit.fill_uniform, "normal": varinit.fill_normal,
         "truncated_normal": varinit.fill_truncated_normal,
         "raw": lambda out, seed, offset: varinit.random_raw(out, seed=seed, offset=offset)}

STABLE_HASHES = {
    ("uniform", "float32", 0): "a5b9c585bc877a8b",
    ("uniform", "float32", 18446744073709551615): "4c33ccce98605346",
    ("uniform", "float32", 20261130): "885bc0e8523f96f3",
    ("uniform", "float64", 0): "a2e71161a87160c7",
    ("uniform", "float64", 18446744073709551615): "4573ac7ac1d454a3",
    ("uniform", "float64", 20261130): "458bd76b0cefa48c",
    ("uniform", "float16", 0): "40eee1f75ae01d57",
    ("uniform", "float16", 18446744073709551615): "44a20bc5953917a2",
    ("uniform", "float16", 20261130): "60440aeb701eb288",
    ("uniform", "bfloat16", 0): "fd6ae59a035167c2",
    ("uniform", "bfloat16", 18446744073709551615): "99742ca77e6815aa",
    ("uniform", "bfloat16", 20261130): "7d7e205629e3f26a",
    ("normal", "float32", 0): "343751425d64d5a8",
    ("normal", "float32", 18446744073709551615): "f3eb9e5160535ec9",
    ("normal", "float32", 20261130): "0b8b6bf02cb1b032",
    ("normal", "float64", 0): "65a55a710cb0676e",
    ("normal", "float64", 18446744073709551615): "3339866c25a968f1",
    ("normal", "float64", 20261130): "f2153631735844ea",
    ("normal", "float16", 0): "f4d53ba79ea8e54c",
    ("normal", "float16", 18446744073709551615): "7d859f90c5216dfa",
    ("normal", "float16", 20261130): "d630bd0fb348e234",
    ("normal", "bfloat16", 0): "5874122277f09ab2",
    ("normal", "bfloat16", 18446744073709551615): "9d296bbcc1b5f29a",
    ("normal", "bfloat16", 20261130): "24266f0bdab38617",
    ("truncated_normal", "float32", 0): "6b0e115c39b6ddd8",
    ("truncated_normal", "float32", 18446744073709551615): "29e76ea8bf34ae21",
    ("truncated_normal", "float32", 20261130): "19f439e5c2fe02a3",
    ("truncated_normal", "float64", 0): "6c91713db8daf8e2",
    ("truncated_normal", "float64", 18446744073709551615): "7e328a810cfb4fde",
    ("truncated_normal", "float64", 20261130): "4672db3b30863ae3",
    ("truncated_normal", "float16", 0): "d5aa2c4407b377ce",
    ("truncated_normal", "float16", 18446744073709551615): "8e9261de7f8a66ff",
    ("truncated_normal", "float16", 20261130): "c722946f9a0fd8f6",
    ("truncated_normal", "bfloat16", 0): "b2dc4cf609abe968",
    ("truncated_normal", "bfloat16", 18446744073709551615): "a18da420cf2bcd1c",
    ("truncated_normal", "bfloat16", 20261130): "6d229cd0d93b73d0",
    ("raw", "uint32", 0): "c80c732941fd204b",
    ("raw", "uint32", 18446744073709551615): "eb159b1ac6f23218",
    ("raw", "uint32", 20261130): "e2eabe9efbc0d2a6",
}


def _dtype(name):
    if name == "bfloat16":
        return np.dtype(pytest.importorskip("ml_dtypes").bfloat16)
    return np.dtype(name)


@pytest.mark.parametrize("dist,dtype,seed", sorted(STABLE_HASHES))
def test_stable_hash(dist, dtype, seed):
    out = FILLS[dist](np.empty(N, _dtype(dtype)), *ARGS[dist], seed=seed, offset=OFFSET)
    assert hashlib.sha256(out.tobytes()).hexdigest()[:16] == STABLE_HASHES[dist, dtype, seed]


def test_every_distribution_and_dtype_is_locked():
    locked = {(d, t) for d, t, _ in STABLE_HASHES}
    for dist in ("uniform", "normal", "truncated_normal"):
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            assert (dist, dtype) in locked
    assert ("raw", "uint32") in locked
