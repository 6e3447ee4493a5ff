"""Build script: the extension list and per-compiler flags only.

Metadata lives in pyproject.toml.  No ISA flag is ever applied to the whole
extension: the kernels for one instruction set live in their own file and
get that set's flags alone (ISA_SOURCES), the dispatcher picks at run time.
"""
import glob
import os
import platform
import re
import sys
import sysconfig

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "src/varinit/csrc"

# Portable C: the block driver, dispatch, the CPU probe.
PORTABLE_SOURCES = [f"{CSRC}/{name}.c" for name in ("vi_fill", "vi_dispatch", "vi_cpu")]
# The scalar reference, built with flags of its own: its float loops have no
# control flow across elements, and these two let gcc/clang vectorize them at
# the baseline ISA (selects as blends, no libm errno handling).  Neither
# changes a value; -ffast-math would, and is never used.
FILE_SOURCES = {
    f"{CSRC}/vi_scalar.c": (["-fno-trapping-math", "-fno-math-errno"], []),
}



def _target_is_x86_64():
    """Whether the build TARGETS x86-64 only (not the machine it runs on):
    macOS cross and universal2 builds say so in ARCHFLAGS / the platform tag,
    and x86 flags must never reach an arm64 slice."""
    archflags = os.environ.get("ARCHFLAGS")
    if archflags:
        return set(re.findall(r"-arch\s+(\S+)", archflags)) == {"x86_64"}
    plat = sysconfig.get_platform().lower()   # honours _PYTHON_HOST_PLATFORM
    if plat.startswith("macosx"):
        return plat.endswith("x86_64")
    if plat.startswith("win"):
        return plat == "win-amd64"
    return platform.machine().lower() in ("x86_64", "amd64", "x86-64") and sys.maxsize > 2**32


# Per-ISA translation units and the flags each needs (gcc/clang, MSVC).
# x86-64 only: the kernels use 64-bit lanes and the dispatcher's tables are
# declared for x86-64 targets alone (32-bit x86 builds get the scalar path).
X86 = _target_is_x86_64()
ISA_SOURCES = {
    f"{CSRC}/vi_avx2.c": (["-mavx2", "-mfma", "-mf16c", "-mpopcnt"], ["/arch:AVX2"]),
    f"{CSRC}/vi_avx512.c": (["-mavx512f", "-mavx512dq", "-mavx512bw", "-mavx512vl",
                             "-mavx2", "-mfma", "-mf16c", "-mpopcnt"], ["/arch:AVX512"]),
} if X86 else {}
# Tells vi_dispatch.c that the ISA tables are linked in.
ISA_MACROS = [("VI_X86_KERNELS", "1")] if ISA_SOURCES else []
FILE_SOURCES.update(ISA_SOURCES)

# Kernels must be reproducible: no fused multiply-add contraction, no
# fast-math, so every path performs the same IEEE operations.
UNIX_FLAGS = ["-O3", "-ffp-contract=off", "-fno-strict-aliasing"]
MSVC_FLAGS = ["/O2", "/fp:precise"]
# Debug knobs (gcc/clang only), off by default.  VARINIT_DEBUG=1: no
# optimisation, asserts on.  VARINIT_SANITIZE=1: AddressSanitizer and
# UndefinedBehaviorSanitizer on every file, compile and link; a UB report
# aborts instead of continuing, so a test run cannot pass over one.
DEBUG_FLAGS = ["-O0", "-g", "-UNDEBUG"]
SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined",
                  "-fno-omit-frame-pointer", "-g", "-O1"]


class BuildExt(build_ext):
    """Compile each ISA file with its own flags, then link it in."""

    def build_extension(self, ext):
        msvc = self.compiler.compiler_type == "msvc"
        ext.extra_compile_args = list(MSVC_FLAGS if msvc else UNIX_FLAGS)
        link_args = []
        if not msvc:
            # Appended after the release flags, so the last -O wins.
            if os.environ.get("VARINIT_DEBUG"):
                ext.extra_compile_args += DEBUG_FLAGS
            if os.environ.get("VARINIT_SANITIZE"):
                ext.extra_compile_args += SANITIZE_FLAGS
                link_args += SANITIZE_FLAGS
        ext.extra_link_args = [*ext.extra_link_args, *link_args]
        # Relink when an ISA file or a header changes, not only a listed source.
        ext.depends = [*ext.depends, *FILE_SOURCES, *glob.glob(f"{CSRC}/*.h")]
        objects = []
        for source, (unix_flags, msvc_flags) in FILE_SOURCES.items():
            objects += self.compiler.compile(
                [source],
                output_dir=self.build_temp,
                macros=ext.define_macros,
                include_dirs=ext.include_dirs,
                extra_postargs=ext.extra_compile_args + (msvc_flags if msvc else unix_flags),
            )
        ext.extra_objects = objects
        super().build_extension(ext)


extension = Extension(
    "varinit._core",
    sources=["src/varinit/_core.pyx", *PORTABLE_SOURCES],
    include_dirs=[numpy.get_include(), CSRC],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION"), *ISA_MACROS],
)

setup(
    ext_modules=cythonize(
        [extension],
        compiler_directives={"language_level": 3, "freethreading_compatible": True},
    ),
    cmdclass={"build_ext": BuildExt},
)
