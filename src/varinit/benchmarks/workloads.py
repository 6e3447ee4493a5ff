"""What is measured: the workloads, numpy's and torch's counterpart of each
distribution, and the rows (:class:`Spec`) of a run.

A workload names its distribution (a row of the distribution table,
``varinit.distributions``) and its two parameters once; the varinit call,
the numpy recipe and the torch call of every row are derived from them.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import varinit
from varinit import distributions
from varinit.distributions import TRUNCATION, Distribution
from varinit.initializers import TRUNCATED_STDDEV_FACTOR

from .machine import torch_available

#: Seed of every generator the benchmark makes (varinit's, numpy's, torch's).
SEED = 12345
#: Columns of the new-array workload's 2-d shape.
NEW_ARRAY_COLS = 8192

# Glorot-uniform limit and Glorot-normal stddev of an 8192 x 8192 matrix
# (fan_in + fan_out = 16384); the truncated normal's stddev is divided by the
# std of a standard normal truncated to +-2 so the result has variance 2/fan.
UNIFORM_LIMIT = math.sqrt(6.0 / 16384)
NORMAL_STDDEV = math.sqrt(2.0 / 16384)
TRUNCATED_STDDEV = math.sqrt(2.0 / 16384) / TRUNCATED_STDDEV_FACTOR


# --------------------------------------------------------------------------
# numpy's and torch's way of drawing each distribution
# --------------------------------------------------------------------------

def numpy_truncated_normal(rng: np.random.Generator, flat: np.ndarray, stddev: float) -> None:
    """numpy's usual truncated-normal recipe: standard normals, redraw those beyond 2, scale.

    Parameters
    ----------
    rng : numpy.random.Generator
        Draws the normals.
    flat : numpy.ndarray
        One-dimensional float32 or float64 buffer, written in place.
    stddev : float
        Standard deviation of the untruncated normal (mean 0).
    """
    rng.standard_normal(dtype=flat.dtype, out=flat)
    bad = np.flatnonzero(np.abs(flat) > TRUNCATION)
    while bad.size:
        redraw = rng.standard_normal(bad.size, dtype=flat.dtype)
        flat[bad] = redraw
        bad = bad[np.abs(redraw) > TRUNCATION]
    flat *= stddev


def _numpy_uniform(rng: np.random.Generator, flat: np.ndarray, low: float, high: float) -> None:
    rng.random(dtype=flat.dtype, out=flat)
    flat *= high - low
    flat += low


def _numpy_normal(rng: np.random.Generator, flat: np.ndarray, mean: float, stddev: float) -> None:
    # Standard normals, not scaled: numpy is given the easier job.
    rng.standard_normal(dtype=flat.dtype, out=flat)


def _numpy_truncated(rng: np.random.Generator, flat: np.ndarray, mean: float,
                     stddev: float) -> None:
    numpy_truncated_normal(rng, flat, stddev)


def _torch_truncated(torch: Any, t: Any, mean: float, stddev: float) -> None:
    reach = TRUNCATION * stddev
    torch.nn.init.trunc_normal_(t, mean, stddev, mean - reach, mean + reach)


@dataclass(frozen=True)
class Counterpart:
    """numpy's and torch's way of drawing one distribution of the table."""

    numpy_call: str     # the one-thread numpy recipe, for tables
    numpy_draw: Callable[[np.random.Generator, np.ndarray, float, float], None]
    torch_method: str   # the torch rows' path
    torch_call: str
    torch_draw: Callable[[Any, Any, float, float], None]   # (torch, tensor, a, b)


#: The counterpart of each distribution the workloads use, by table row name.
COUNTERPARTS: dict[str, Counterpart] = {
    "uniform": Counterpart(
        "random(out=buf); buf *= 2a; buf -= a", _numpy_uniform,
        "uniform_", "t.uniform_(-a, a)", lambda torch, t, low, high: t.uniform_(low, high)),
    "normal": Counterpart(
        "standard_normal(out=buf)", _numpy_normal,
        "normal_", "t.normal_(0, s)", lambda torch, t, mean, stddev: t.normal_(mean, stddev)),
    "truncated_normal": Counterpart(
        "standard_normal(out=buf); redraw |x|>2; buf *= s", _numpy_truncated,
        "trunc_normal_", "nn.init.trunc_normal_(t, 0, s, -2s, 2s)", _torch_truncated),
}


# --------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    """One benchmarked job: what is written and which baseline it is judged by.

    ``kind`` is ``"fill"`` (``distribution`` with ``params`` into a warm
    buffer), ``"memset"`` (``buf.fill``: the store bandwidth) or ``"new"``
    (a new array, allocation and page faults included).
    """

    name: str                           # e.g. "uniform f32"
    dtype: str                          # "float32" / "float64"
    kind: str                           # "fill" | "memset" | "new"
    describe: str                       # one line for tables and docs
    distribution: str | None = None     # a row name of the distribution table, for "fill"
    params: tuple[float, float] = (0.0, 0.0)   # its two parameters, for "fill"

    def __post_init__(self) -> None:
        if self.kind == "fill":
            distributions.get(self.distribution)       # raises for a name not in the table
            if self.distribution not in COUNTERPARTS:
                raise ValueError(f"no numpy/torch counterpart for {self.distribution!r}")

    @property
    def dist(self) -> Distribution:
        """The distribution table's row (``"fill"`` workloads only)."""
        return distributions.get(self.distribution)

    @property
    def counterpart(self) -> Counterpart:
        """numpy's and torch's way of drawing the distribution (``"fill"`` workloads only)."""
        return COUNTERPARTS[self.distribution]


#: Every workload, by name, in the order of tables.
WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("uniform f32", "float32", "fill",
             "U[-a, a), a = sqrt(6/16384), warm float32 buffer",
             "uniform", (-UNIFORM_LIMIT, UNIFORM_LIMIT)),
    Workload("truncated normal f32", "float32", "fill",
             "N(0, s) truncated to +-2s by rejection, warm float32 buffer",
             "truncated_normal", (0.0, TRUNCATED_STDDEV)),
    Workload("normal f32", "float32", "fill", "N(0, s), warm float32 buffer",
             "normal", (0.0, NORMAL_STDDEV)),
    Workload("uniform f64", "float64", "fill", "U[-a, a), warm float64 buffer",
             "uniform", (-UNIFORM_LIMIT, UNIFORM_LIMIT)),
    Workload("truncated normal f64", "float64", "fill",
             "N(0, s) truncated to +-2s, warm float64 buffer",
             "truncated_normal", (0.0, TRUNCATED_STDDEV)),
    Workload("buf.fill f32", "float32", "memset",
             "buf.fill(0.5) on a warm float32 buffer: store bandwidth"),
    Workload("buf.fill f64", "float64", "memset",
             "buf.fill(0.5) on a warm float64 buffer: store bandwidth"),
    Workload("new array f32", "float32", "new",
             "a new (n/8192, 8192) float32 array, page faults included"),
)}


def new_array_shape(n: int) -> tuple[int, ...]:
    """Shape of the new-array workload for ``n`` elements.

    Parameters
    ----------
    n : int
        Elements.

    Returns
    -------
    tuple of int
        ``(n // 8192, 8192)`` when 8192 divides ``n``, else ``(n,)``.
    """
    return (n // NEW_ARRAY_COLS, NEW_ARRAY_COLS) if n % NEW_ARRAY_COLS == 0 else (n,)


# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """One row of a benchmark: a workload run by one library, path and thread count."""

    workload: str
    library: str       # "varinit" | "numpy" | "torch"
    path: str          # kernel table for varinit; method for the others
    threads: int

    @property
    def id(self) -> str:
        """Short identifier, usable as a pytest parameter id."""
        return f"{self.workload}-{self.library}-{self.path}-T{self.threads}".replace(" ", "_")

    @property
    def is_baseline(self) -> bool:
        """True for the rows other rows of the workload are compared with."""
        return self.library == "numpy" and self.path in ("Generator", "np.empty+fill")

    @property
    def call(self) -> str:
        """The call being timed, for tables."""
        w = WORKLOADS[self.workload]
        if self.library == "varinit":
            return "GlorotUniform(seed)(shape)" if w.kind == "new" else f"fill_{w.dist.name}"
        if self.library == "torch":
            return w.counterpart.torch_call
        if w.kind == "memset":
            return "buf.fill(0.5)" + ("" if self.threads == 1 else
                                      f" in {self.threads} parts from a thread pool")
        if w.kind == "new":
            return "np.empty(shape); fill(0.5)"
        recipe = w.counterpart.numpy_call
        return recipe if self.threads == 1 else f"{recipe} (spawned generators, thread pool)"


def default_threads() -> list[int]:
    """One thread and all threads varinit would use.

    Returns
    -------
    list of int
        ``[1, varinit.get_num_threads()]``, deduplicated and sorted.
    """
    return sorted({1, varinit.get_num_threads()})


def specs(threads: Sequence[int] | None = None, kernels: Sequence[str] | None = None,
          torch: bool | None = None, workloads: Iterable[str] | None = None) -> list[Spec]:
    """List the rows of a benchmark run, baselines first within each workload.

    Parameters
    ----------
    threads : sequence of int, optional
        Thread counts; default one thread and all threads.
    kernels : sequence of str, optional
        varinit kernel paths to run; default every path this CPU runs
        (``varinit.runtime_info()["kernels_available"]``), so new SIMD paths
        appear without any change here.
    torch : bool, optional
        Include torch rows; default: if torch is installed.
    workloads : iterable of str, optional
        Names from :data:`WORKLOADS`; default all.

    Returns
    -------
    list of Spec

    Raises
    ------
    ValueError
        For a name not in :data:`WORKLOADS`.
    """
    names = list(WORKLOADS) if workloads is None else list(workloads)
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")
    info = varinit.runtime_info()
    threads = default_threads() if threads is None else sorted(set(threads))
    kernels = info["kernels_available"] if kernels is None else list(kernels)
    torch = torch_available() if torch is None else torch
    rows: list[Spec] = []
    for name in names:
        w = WORKLOADS[name]
        if w.kind == "memset":
            rows += [Spec(name, "numpy", "buf.fill", t) for t in threads]
        elif w.kind == "new":
            rows.append(Spec(name, "numpy", "np.empty+fill", 1))
            rows += [Spec(name, "varinit", info["kernel"], t) for t in threads]
        else:
            rows += [Spec(name, "numpy", "Generator", t) for t in threads]
            rows += [Spec(name, "varinit", k, t) for k in kernels for t in threads]
            if torch and w.dtype == "float32":
                rows += [Spec(name, "torch", w.counterpart.torch_method, t) for t in threads]
    return rows
