"""Output buffers: numpy arrays, and CPU torch tensors viewed as numpy arrays.

Every ``out=`` of the fill API and of the initializers goes through
:func:`as_array` before the Cython layer's checker sees it, so a tensor
gets exactly the checks and the errors of a numpy buffer and the same
values, written in place through a zero-copy view of its storage.

torch is never imported here: a tensor can only exist if its owner
imported torch, so ``sys.modules`` is asked instead.
"""
from __future__ import annotations

import sys
from typing import Any

import numpy as np

from . import dtypes as _dtypes

__all__ = ["as_array", "written", "is_tensor"]

# torch dtypes numpy lacks: the tensor is viewed as unsigned integers of the
# same width, then as the ml_dtypes dtype of the same name.
_BIT_VIEWS = {"bfloat16": "uint16", "float8_e4m3fn": "uint8", "float8_e5m2": "uint8"}


def _torch() -> Any:
    return sys.modules.get("torch")


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a ``torch.Tensor`` (without importing torch)."""
    torch = _torch()
    return torch is not None and isinstance(value, torch.Tensor)


def as_array(out: Any) -> np.ndarray:
    """``out`` as a numpy array sharing its memory.

    Parameters
    ----------
    out : numpy.ndarray or torch.Tensor
        A tensor must be a dense CPU tensor (a ``Parameter`` too; its
        autograd state is left alone).

    Returns
    -------
    numpy.ndarray
        ``out`` itself, or a view of the tensor's storage of the same shape
        and dtype (the ``ml_dtypes`` dtype for bfloat16 and float8).

    Raises
    ------
    TypeError
        If ``out`` is neither, or a tensor of a dtype numpy cannot view.
    ValueError
        For a tensor on the meta device or another device, a sparse,
        non-contiguous or distributed tensor.
    """
    if isinstance(out, np.ndarray):
        return out
    if not is_tensor(out):
        raise TypeError(f"out must be a numpy.ndarray or a torch.Tensor, got {type(out).__name__}")
    if hasattr(out, "device_mesh") and hasattr(out, "placements"):
        raise ValueError("out is a DTensor; fill its local shard (varinit.torch.fill_shard_) "
                         "or build it with varinit.torch.distribute")
    if out.is_meta:
        raise ValueError("out is on the meta device and has no storage to fill; allocate it "
                         "first (varinit.torch.materialize_ does so for a module)")
    if out.device.type != "cpu":
        raise ValueError(f"out is on device {out.device}; varinit fills CPU tensors only "
                         "(fill a CPU tensor and move it)")
    torch = _torch()
    if out.layout != torch.strided:
        raise ValueError(f"out has layout {out.layout}; varinit fills dense (strided) tensors")
    name = str(out.dtype).removeprefix("torch.")
    if out.is_complex() or out.is_quantized:
        raise TypeError(f"cannot fill a tensor of dtype {out.dtype}")
    if not out.is_contiguous():
        raise ValueError("out must be contiguous (varinit fills flat C order, it never copies)")
    plain = out.detach()
    if name in _BIT_VIEWS:
        row = _dtypes.lookup_name(name)
        return plain.view(getattr(torch, _BIT_VIEWS[name])).numpy().view(row.numpy)
    try:
        return plain.numpy()
    except (TypeError, RuntimeError) as exc:
        raise TypeError(f"cannot fill a tensor of dtype {out.dtype}: {exc}") from None


def written(out: Any) -> Any:
    """Record that ``out`` was written in place and return it.

    A tensor's version counter is advanced, as torch's own in-place
    operations do, so autograd refuses a backward pass through values saved
    before the write instead of silently using the new ones.
    """
    if is_tensor(out):
        _torch().autograd.graph.increment_version(out)
    return out
