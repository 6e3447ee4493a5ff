"""Type stubs for the compiled core (varinit._core)."""
from collections.abc import Mapping
from typing import overload

import numpy as np
import numpy.typing as npt

STREAM_VERSION: int
LANES: int
BLOCK: int
CHUNK: int
DIST_RAW: int
DIST_UNIFORM: int
DIST_NORMAL: int
DIST_NORMAL_FLAT: int
DIST_NORMAL_TAIL: int
DIST_NORMAL_TRUNC: int
NDIST: int
NDTYPE: int
DTYPE_U32: int
DTYPE_F32: int
DTYPE_F64: int
DTYPE_F16: int
DTYPE_BF16: int
DTYPE_F8E4M3: int
DTYPE_F8E5M2: int

class PCG32:
    def __init__(self, initstate: int, initseq: int) -> None: ...
    def next32(self) -> int: ...
    @overload
    def random_raw(self, n: None = None) -> int: ...
    @overload
    def random_raw(self, n: int) -> npt.NDArray[np.uint32]: ...
    def advance(self, delta: int) -> PCG32: ...
    @property
    def state(self) -> tuple[int, int]: ...

def best_kernel() -> str: ...
def missing_features(name: str) -> str | None: ...
def cpu_features() -> str: ...
def check_out(out: object, codes: Mapping[str, int], what: str) -> int: ...
def fill(out: np.ndarray, dtype_code: int, dist: int, params: Mapping[str, float | int],
         seed: int, offset: int, threads: int, kernel: str) -> np.ndarray: ...
