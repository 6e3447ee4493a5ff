"""Stream version 2 locked: SHA-256 prefixes of fixed fills.

If one of these changes, the stream changed: that must be a deliberate,
versioned event (bump STREAM_VERSION, update docs/stream.md and these
values together), never a side effect of a refactor or a new SIMD path.
"""
import hashlib

import numpy as np
import pytest

import varinit

N, OFFSET = 3 * 4096 + 17, 5          # three blocks and a tail, starting inside block 0
ARGS = {"uniform": (-0.05, 0.05), "normal": (0.0, 0.02), "truncated_normal": (0.0, 0.02),
        "truncated_flat": (0.0, 0.02), "truncated_tail": (0.0, 0.02), "raw": ()}
FILLS = {"uniform": varinit.fill_uniform, "normal": varinit.fill_normal,
         "truncated_normal": varinit.fill_truncated_normal,
         # the other two kernels of docs/stream.md 5.5: a narrow interval
         # (uniform rejection) and a one-sided tail (exponential rejection)
         "truncated_flat": lambda out, m, s, **kw: varinit.fill_truncated_normal(
             out, m, s, low=m + 0.5 * s, high=m + 0.6 * s, **kw),
         "truncated_tail": lambda out, m, s, **kw: varinit.fill_truncated_normal(
             out, m, s, high=m - 3.0 * s, low=float("-inf"), **kw),
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
    ("normal", "float32", 0): "d38a434cdeed9e36",
    ("normal", "float32", 18446744073709551615): "4e7ebdc00c2f945a",
    ("normal", "float32", 20261130): "33d2abb0f33f9b78",
    ("normal", "float64", 0): "3b5287b9f4449b89",
    ("normal", "float64", 18446744073709551615): "43646f32f5d90ffe",
    ("normal", "float64", 20261130): "3263cdeeb5497b9b",
    ("normal", "float16", 0): "be57cff4835f89c9",
    ("normal", "float16", 18446744073709551615): "bdb78a520db3e763",
    ("normal", "float16", 20261130): "12576560f5de6f57",
    ("normal", "bfloat16", 0): "29b43bac9d9a3012",
    ("normal", "bfloat16", 18446744073709551615): "95d8763cb71f4a8d",
    ("normal", "bfloat16", 20261130): "add768142a1102bb",
    ("truncated_normal", "float32", 0): "2e8b84548f678705",
    ("truncated_normal", "float32", 18446744073709551615): "9cbfafcda1341cc1",
    ("truncated_normal", "float32", 20261130): "a488ea02f0d5e042",
    ("truncated_normal", "float64", 0): "0b1b4c95c18a8152",
    ("truncated_normal", "float64", 18446744073709551615): "685ede2785a285f9",
    ("truncated_normal", "float64", 20261130): "af403a05d67c3e5b",
    ("truncated_normal", "float16", 0): "d555dc4bda407d34",
    ("truncated_normal", "float16", 18446744073709551615): "d7cdbf8643556b04",
    ("truncated_normal", "float16", 20261130): "7fd7e8e3df8f79d8",
    ("truncated_normal", "bfloat16", 0): "47b3db79010d0507",
    ("truncated_normal", "bfloat16", 18446744073709551615): "17172229a1073e9c",
    ("truncated_normal", "bfloat16", 20261130): "b636176c848df48b",
    ("truncated_flat", "float32", 0): "67db84a225aa0520",
    ("truncated_flat", "float32", 18446744073709551615): "464c0f51a6f013f5",
    ("truncated_flat", "float32", 20261130): "8e64dc9c2314c978",
    ("truncated_flat", "float64", 0): "f7b2d6f6d6c34f7b",
    ("truncated_flat", "float64", 18446744073709551615): "ce69819c13d01d10",
    ("truncated_flat", "float64", 20261130): "dba001bb6573c60f",
    ("truncated_flat", "float16", 0): "54650dddef0369b8",
    ("truncated_flat", "float16", 18446744073709551615): "f6e31f67acf75df9",
    ("truncated_flat", "float16", 20261130): "702da66e7075bc02",
    ("truncated_flat", "bfloat16", 0): "8c4fc5a87d61fd4a",
    ("truncated_flat", "bfloat16", 18446744073709551615): "ad32f1df61a8c5de",
    ("truncated_flat", "bfloat16", 20261130): "a78834c24390ca05",
    ("truncated_tail", "float32", 0): "f06f3e996d98b538",
    ("truncated_tail", "float32", 18446744073709551615): "49340a8c3286623f",
    ("truncated_tail", "float32", 20261130): "e14f37495981f5b0",
    ("truncated_tail", "float64", 0): "3fccef0ce5de0487",
    ("truncated_tail", "float64", 18446744073709551615): "6f1e1bfb7bd05ef8",
    ("truncated_tail", "float64", 20261130): "71e397583bf6c80c",
    ("truncated_tail", "float16", 0): "35fb0e813921d2e9",
    ("truncated_tail", "float16", 18446744073709551615): "fe18bc8bb5bce455",
    ("truncated_tail", "float16", 20261130): "f8cd28dd93fe1feb",
    ("truncated_tail", "bfloat16", 0): "f1fcb0958f3d667e",
    ("truncated_tail", "bfloat16", 18446744073709551615): "a8929cde47cdcd5f",
    ("truncated_tail", "bfloat16", 20261130): "53a779e1de8d2149",
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
    for dist in ("uniform", "normal", "truncated_normal", "truncated_flat", "truncated_tail"):
        for dtype in ("float16", "bfloat16", "float32", "float64"):
            assert (dist, dtype) in locked
    assert ("raw", "uint32") in locked
