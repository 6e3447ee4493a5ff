"""What the machine is: CPU, memory, library versions (``/proc`` where it exists)."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform

import numpy as np

import varinit

# The x86 vector flags of /proc/cpuinfo that varinit's kernels care about.
SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512dq", "avx512bw", "avx512vl")


def torch_available() -> bool:
    """True if torch is installed (it is optional: its rows are left out without it).

    Returns
    -------
    bool
        Whether ``import torch`` can find the package (it is not imported here).
    """
    return importlib.util.find_spec("torch") is not None


def torch_version() -> str | None:
    """The installed torch's version, read from its metadata (torch is not imported).

    Returns
    -------
    str or None
        None when torch is not installed.
    """
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpuinfo() -> dict:
    """Model name, family, model, SIMD flags and hypervisor bit of the first CPU
    in ``/proc/cpuinfo`` (empty where there is no such file)."""
    found = {"model name": "", "cpu family": "", "model": "", "flags": None}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in found and not found[key]:
                    found[key] = value.strip() if key != "flags" else value.split()
    except OSError:
        pass
    flags = found["flags"] or []
    return {"model name": found["model name"], "family": found["cpu family"],
            "model": found["model"], "hypervisor": "hypervisor" in flags,
            "simd": " ".join(x for x in SIMD_FLAGS if x in set(flags))}


def _memory() -> str:
    """``MemTotal`` of ``/proc/meminfo`` in GiB, or ``""``."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return ""


def machine_info() -> dict:
    """CPU, core count, memory and library versions of this machine.

    Returns
    -------
    dict
        ``cpu``, ``cpu_id`` (family and model), ``hypervisor``, ``cpus``
        (``os.cpu_count``), ``affinity`` (CPUs this process may use), ``simd``
        (the x86 vector flags of ``/proc/cpuinfo``), ``memory``, ``python``,
        ``platform``, ``numpy``, ``torch`` (or None), ``varinit``,
        ``kernels`` and ``active_kernel``.
    """
    cpu = _cpuinfo()
    runtime = varinit.runtime_info()
    affinity = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count())
    return {
        "cpu": cpu["model name"] or platform.processor() or platform.machine(),
        "cpu_id": f"family {cpu['family']}, model {cpu['model']}" if cpu["family"] else "",
        "hypervisor": cpu["hypervisor"], "cpus": os.cpu_count(), "affinity": affinity,
        "simd": cpu["simd"], "memory": _memory(), "python": platform.python_version(),
        "platform": platform.platform(), "numpy": np.__version__, "torch": torch_version(),
        "varinit": varinit.__version__, "kernels": runtime["kernels_available"],
        "active_kernel": runtime["kernel"],
    }
