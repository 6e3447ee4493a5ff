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
    ("normal", "float32", 0): "ce5d2bd52e82dcad",
    ("normal", "float32", 18446744073709551615): "e5a6a2e8c2dcd82e",
    ("normal", "float32", 20261130): "2acc5dea9fee605e",
    ("normal", "float64", 0): "466d050f2a9aa1ae",
    ("normal", "float64", 18446744073709551615): "7a5afefc1f19b8ad",
    ("normal", "float64", 20261130): "ad3a31457f722b7e",
    ("normal", "float16", 0): "1d76143917bf3526",
    ("normal", "float16", 18446744073709551615): "617c4b6acb2621b6",
    ("normal", "float16", 20261130): "6af081921fda8943",
    ("normal", "bfloat16", 0): "08821527e7d44337",
    ("normal", "bfloat16", 18446744073709551615): "0098625d60006553",
    ("normal", "bfloat16", 20261130): "36b73f4a97036d44",
    ("truncated_normal", "float32", 0): "17744f70c224ed71",
    ("truncated_normal", "float32", 18446744073709551615): "be712b18b02d05ae",
    ("truncated_normal", "float32", 20261130): "d6c76ea071175a45",
    ("truncated_normal", "float64", 0): "51db2f913498ae86",
    ("truncated_normal", "float64", 18446744073709551615): "1e16fe23c8376570",
    ("truncated_normal", "float64", 20261130): "2d59a3c1409ced77",
    ("truncated_normal", "float16", 0): "f0f84da3a28f8209",
    ("truncated_normal", "float16", 18446744073709551615): "dcabfaa5ae882d47",
    ("truncated_normal", "float16", 20261130): "ae9131cd3b510600",
    ("truncated_normal", "bfloat16", 0): "c551fb3089ab3486",
    ("truncated_normal", "bfloat16", 18446744073709551615): "edaffc4a305cc4a0",
    ("truncated_normal", "bfloat16", 20261130): "a79d82d77f1ae853",
    ("truncated_flat", "float32", 0): "c0ddb693624a7fc7",
    ("truncated_flat", "float32", 18446744073709551615): "03e8c0898414ebb9",
    ("truncated_flat", "float32", 20261130): "b6605bbd50dcafc7",
    ("truncated_flat", "float64", 0): "b85bf29c99acdeb3",
    ("truncated_flat", "float64", 18446744073709551615): "61536b6d7b200551",
    ("truncated_flat", "float64", 20261130): "7d72f4ac243f2102",
    ("truncated_flat", "float16", 0): "6007adc40be3325a",
    ("truncated_flat", "float16", 18446744073709551615): "b18d99a89426f1db",
    ("truncated_flat", "float16", 20261130): "1b939c25634619be",
    ("truncated_flat", "bfloat16", 0): "cdb6d99534922b1b",
    ("truncated_flat", "bfloat16", 18446744073709551615): "63dc19e12bed433c",
    ("truncated_flat", "bfloat16", 20261130): "647583e2d12cb0b9",
    ("truncated_tail", "float32", 0): "a0a0441ad6277050",
    ("truncated_tail", "float32", 18446744073709551615): "932c8e31ff733ecc",
    ("truncated_tail", "float32", 20261130): "e1a9e49987f96cc5",
    ("truncated_tail", "float64", 0): "f31a9876dc416c08",
    ("truncated_tail", "float64", 18446744073709551615): "0a64badf7c1b571b",
    ("truncated_tail", "float64", 20261130): "a144541b178b5164",
    ("truncated_tail", "float16", 0): "3951ea20960b9734",
    ("truncated_tail", "float16", 18446744073709551615): "bcc47d722e7ee9ca",
    ("truncated_tail", "float16", 20261130): "509267561c80cc3d",
    ("truncated_tail", "bfloat16", 0): "264406dc35754ee7",
    ("truncated_tail", "bfloat16", 18446744073709551615): "7fc83d49f99d684b",
    ("truncated_tail", "bfloat16", 20261130): "944a1322246b0664",
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
