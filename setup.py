"""Build script: the extension list and per-compiler flags only.

Metadata lives in pyproject.toml.  No ISA flag is ever applied to the whole
extension: the kernels for one instruction set live in their own file and
get that set's flags alone (ISA_SOURCES), the dispatcher picks at run time.
"""
import os
import platform

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "src/varinit/csrc"

# Portable C: the scalar reference, the block driver, dispatch.
PORTABLE_SOURCES = [f"{CSRC}/{name}.c" for name in ("vi_scalar", "vi_fill", "vi_dispatch")]

# Per-ISA translation units and the flags each needs (gcc/clang, MSVC).
X86 = platform.machine().lower() in ("x86_64", "amd64", "x86-64", "i686", "x86")
ISA_SOURCES = {}

# Kernels must be reproducible: no fused multiply-add contraction, no
# fast-math, so every path performs the same IEEE operations.
UNIX_FLAGS = ["-O3", "-ffp-contract=off", "-fno-strict-aliasing"]
MSVC_FLAGS = ["/O2", "/fp:precise"]


class BuildExt(build_ext):
    """Compile each ISA file with its own flags, then link it in."""

    def build_extension(self, ext):
        msvc = self.compiler.compiler_type == "msvc"
        ext.extra_compile_args = list(MSVC_FLAGS if msvc else UNIX_FLAGS)
        if os.environ.get("VARINIT_DEBUG"):
            ext.extra_compile_args += [] if msvc else ["-O0", "-g"]
        for source, (unix_flags, msvc_flags) in ISA_SOURCES.items():
            objects = self.compiler.compile(
                [source],
                output_dir=self.build_temp,
                include_dirs=ext.include_dirs,
                extra_postargs=ext.extra_compile_args + (msvc_flags if msvc else unix_flags),
            )
            ext.extra_objects = list(ext.extra_objects or []) + objects
        super().build_extension(ext)


extension = Extension(
    "varinit._core",
    sources=["src/varinit/_core.pyx", *PORTABLE_SOURCES],
    include_dirs=[numpy.get_include(), CSRC],
    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
)

setup(
    ext_modules=cythonize(
        [extension],
        compiler_directives={"language_level": 3, "freethreading_compatible": True},
    ),
    cmdclass={"build_ext": BuildExt},
)
