"""Shapes and fans: how many inputs and outputs a weight tensor connects.

``compute_fans`` follows Keras 3.15 exactly for its own kernel layout
``(*kernel, in, out)`` and torch's ``_calculate_fan_in_and_fan_out`` for the
torch layout ``(out, in, *kernel)``.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Union, cast, get_args

from ._validate import integer

__all__ = ["compute_fans", "as_shape", "LAYOUTS", "FanLayout"]

ShapeLike = Union[int, Sequence[int]]
AxesLike = Union[Sequence[int], None]

#: The kernel layouts ``compute_fans`` and ``VarianceScaling`` accept.
FanLayout = Literal["keras", "torch"]
LAYOUTS: tuple[FanLayout, ...] = get_args(FanLayout)




def as_shape(shape: ShapeLike) -> tuple[int, ...]:
    """Validate a tensor shape and return it as a tuple of Python ints.

    Parameters
    ----------
    shape : int or sequence of int
        Non-negative dimensions; a single int means a 1-D shape, as in numpy.

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        If ``shape`` is not a sequence of integers (floats and bools are
        rejected).
    ValueError
        If a dimension is negative.
    """
    if isinstance(shape, (str, bytes)):
        raise TypeError(f"shape must be a sequence of integers, got {shape!r}")
    try:
        items = (shape,) if not hasattr(shape, "__iter__") else tuple(shape)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"shape must be a sequence of integers, got {shape!r}") from None
    dims = tuple(integer(d, "every dimension of shape") for d in items)
    for d in dims:
        if d < 0:
            raise ValueError(f"negative dimensions are not allowed, got shape={dims}")
    return dims


def _product(values: Sequence[int] | tuple[int, ...]) -> int:
    result = 1
    for v in values:
        result *= v
    return result


def _axes(axes: object, name: str) -> list[int]:
    if isinstance(axes, (str, bytes)) or not hasattr(axes, "__iter__"):
        raise TypeError(f"{name} must be a sequence of integers or None, got {axes!r}")
    return [integer(a, f"every entry of {name}") for a in axes]  # type: ignore[union-attr]


def check_axes(input_axes: AxesLike, output_axes: AxesLike) -> None:
    """Type-check ``input_axes``/``output_axes`` (None or sequences of int)."""
    for axes, name in ((input_axes, "input_axes"), (output_axes, "output_axes")):
        if axes is not None:
            _axes(axes, name)


def check_layout(layout: object) -> FanLayout:
    """Return ``layout`` if it is ``"keras"`` or ``"torch"``, else raise."""
    if not isinstance(layout, str):
        raise TypeError(f"layout must be 'keras' or 'torch', got {layout!r} "
                        "(pass input_axes/output_axes by keyword)")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be 'keras' or 'torch', got {layout!r}")
    return cast(FanLayout, layout)


def compute_fans(shape: ShapeLike, layout: FanLayout = "keras",
                 input_axes: AxesLike = None,
                 output_axes: AxesLike = None) -> tuple[int, int]:
    """Number of input and output units of a weight tensor.

    Parameters
    ----------
    shape : int or sequence of int
        The weight's shape.
    layout : {"keras", "torch"}, optional
        ``"keras"`` (default): kernels are ``(*kernel, in, out)``, exactly as
        ``keras.initializers``: rank 0 gives ``(1, 1)``, rank 1 ``(n, n)``,
        rank 2 ``(in, out)``, rank >= 3 multiplies the channels by the
        receptive field ``prod(shape[:-2])``.
        ``"torch"``: weights are ``(out, in, *kernel)`` as in ``torch.nn``;
        ``fan_in = shape[1] * prod(shape[2:])``,
        ``fan_out = shape[0] * prod(shape[2:])``; rank < 2 raises.
    input_axes, output_axes : sequence of int, optional
        Keras 3.15's explicit axes (negative axes allowed): when **both** are
        given, ``fan_in`` and ``fan_out`` are the products of those
        dimensions; when only one is given both are ignored, as in Keras.
        Only with ``layout="keras"``.

    Returns
    -------
    (int, int)
        ``(fan_in, fan_out)``.

    Raises
    ------
    TypeError
        For a non-integer shape or axis, or a non-string ``layout``.
    ValueError
        For a negative dimension, an unknown layout, a torch-layout shape of
        rank < 2, or axes combined with ``layout="torch"``.
    IndexError
        For an axis outside the shape (as Keras).

    Examples
    --------
    >>> import varinit
    >>> varinit.compute_fans((3, 3, 16, 32))
    (144, 288)
    >>> varinit.compute_fans((32, 16, 3, 3), layout="torch")
    (144, 288)
    >>> varinit.compute_fans((3, 3, 16, 32), input_axes=[0, 1, 2], output_axes=[3])
    (144, 32)
    """
    layout = check_layout(layout)
    dims = as_shape(shape)
    if layout == "torch":
        if input_axes is not None or output_axes is not None:
            raise ValueError("input_axes/output_axes cannot be combined with layout='torch' "
                             "(the layout already fixes the axes)")
        if len(dims) < 2:
            raise ValueError("Fan in and fan out can not be computed for tensor with fewer "
                             f"than 2 dimensions (layout='torch', shape={dims})")
        receptive_field = _product(dims[2:])
        return dims[1] * receptive_field, dims[0] * receptive_field
    if input_axes is not None and output_axes is not None:
        fan_in = _product([dims[a] for a in _axes(input_axes, "input_axes")])
        fan_out = _product([dims[a] for a in _axes(output_axes, "output_axes")])
        return fan_in, fan_out
    if len(dims) == 0:
        return 1, 1
    if len(dims) == 1:
        return dims[0], dims[0]
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive_field = _product(dims[:-2])
    return dims[-2] * receptive_field, dims[-1] * receptive_field
