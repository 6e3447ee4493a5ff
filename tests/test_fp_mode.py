"""The same bits, and termination, whatever floating-point mode the caller runs in.

JAX's host-callback threads and libraries built with fast-math leave
flush-to-zero / denormals-are-zero (FTZ/DAZ) set in MXCSR.  The parameter
rounding of the API layer is integer arithmetic and the C layer fills with
the IEEE default mode, so every call below must finish and write what it
writes in the default mode.  A tiny C helper, compiled here, sets the mode
in the calling thread of a subprocess (bounded in time, so a hang fails).
"""
from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

pytestmark = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                                reason="the MXCSR helper is x86-64 only")

HELPER = r"""
#include <xmmintrin.h>
unsigned int get_csr(void) { return _mm_getcsr(); }
void set_csr(unsigned int value) { _mm_setcsr(value); }
"""
FTZ, DAZ = 0x8000, 0x0040

# Each case is one call whose output bytes are compared; bounds at 0.0 and
# parameters in the subnormal range are where a flushed comparison or cast
# would go wrong.
CASES = textwrap.dedent("""
    import hashlib, numpy as np, ml_dtypes, varinit
    f32, f64, f16, bf16 = np.float32, np.float64, np.float16, ml_dtypes.bfloat16
    def run():
        out = {}
        def case(name, array):
            out[name] = hashlib.sha256(array.tobytes()).hexdigest()
        n = 10_000
        case("truncated 0..1", varinit.fill_truncated_normal(np.empty(n, f32), 0.0, 1.0, seed=1))
        case("truncated low=0", varinit.fill_truncated_normal(np.empty(n, f64), 0.0, 1.0,
                                                              low=0.0, seed=2))
        case("truncated high=0 f16", varinit.fill_truncated_normal(np.empty(n, f16), 0.0, 1.0,
                                                                   high=0.0, seed=3))
        case("truncated bf16", varinit.fill_truncated_normal(np.empty(n, bf16), 0.0, 1.0, seed=4))
        case("uniform -1..0", varinit.fill_uniform(np.empty(n, f32), -1.0, 0.0, seed=5))
        case("uniform 0..1", varinit.fill_uniform(np.empty(n, f64), 0.0, 1.0, seed=6))
        case("uniform subnormal f32", varinit.fill_uniform(np.empty(n, f32), 0.0, 1e-40, seed=7))
        case("uniform subnormal f16", varinit.fill_uniform(np.empty(n, f16), -1e-6, 1e-6, seed=8))
        case("uniform subnormal f64", varinit.fill_uniform(np.empty(n, f64), 0.0, 1e-310, seed=9))
        case("normal tiny stddev", varinit.fill_normal(np.empty(n, f32), 0.0, 1e-30, seed=10))
        case("TruncatedNormal low=0", varinit.TruncatedNormal(0.0, 0.02, low=0.0, seed=11)((100, 100)))
        case("GlorotUniform", varinit.GlorotUniform(seed=12)((64, 64), "bfloat16"))
        case("HeNormal f16", varinit.HeNormal(seed=13)((64, 64), "float16"))
        return out
""")


@pytest.fixture(scope="module")
def helper(tmp_path_factory):
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        compiler = "cc"
    folder = tmp_path_factory.mktemp("fpmode")
    (folder / "fpmode.c").write_text(HELPER)
    library = folder / "libfpmode.so"
    subprocess.run([compiler, "-shared", "-fPIC", "-O1", str(folder / "fpmode.c"),
                    "-o", str(library)], check=True)
    return library


def _run(helper, csr_bits: int) -> dict:
    code = CASES + textwrap.dedent(f"""
        import ctypes, json
        lib = ctypes.CDLL({str(helper)!r})
        lib.get_csr.restype = ctypes.c_uint
        lib.set_csr(lib.get_csr() | {csr_bits})
        tiny = np.array([1e-39], np.float32)
        mode_live = bool((tiny * np.float32(1.0))[0] == 0)   # subnormals flushed?
        result = run()
        print(json.dumps({{"mode_live": mode_live, "kept": lib.get_csr() & {csr_bits},
                           "hashes": result}}))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    import json
    return json.loads(done.stdout)


def test_ftz_daz_caller_gets_the_same_bits_and_keeps_its_mode(helper):
    default = _run(helper, 0)
    flushed = _run(helper, FTZ | DAZ)
    assert not default["mode_live"] and flushed["mode_live"]    # the mode really was set
    assert flushed["kept"] == FTZ | DAZ                          # and is the caller's again
    assert flushed["hashes"] == default["hashes"]
