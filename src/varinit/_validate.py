"""The one integer validator: seeds, offsets, counts, thread counts, dimensions.

One exception policy everywhere: a value of the wrong *type* raises
``TypeError``, a value of the right type outside its range raises
``ValueError``, each naming the parameter.  bools are not integers here
(``True`` as a seed or a size is a mistake); anything with ``__index__``
(numpy integers) is.

A leaf module (standard library only), so the Cython layer can use it too.
"""
from __future__ import annotations

import operator
from typing import Any

__all__ = ["integer", "u64", "KerasSeedTypeError"]

U64_LIMIT = 1 << 64


class KerasSeedTypeError(TypeError, ValueError):
    """A seed of the wrong type: a ``TypeError`` like every wrong type in
    varinit, and also the ``ValueError`` Keras raises there, so code written
    for ``keras.initializers`` keeps catching it."""


def integer(value: Any, name: str, *, low: int | None = None, high: int | None = None,
            type_error: type[TypeError] = TypeError) -> int:
    """Check that ``value`` is an integer in ``[low, high)`` and return it as an int.

    Parameters
    ----------
    value : object
        The argument.
    name : str
        Its name, for the messages.
    low, high : int, optional
        Inclusive lower and exclusive upper bound; ``None`` for none.
    type_error : type, optional
        The ``TypeError`` subclass raised for a wrong type.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is a bool or has no ``__index__``.
    ValueError
        If it lies outside the bounds.
    """
    if isinstance(value, bool):
        raise type_error(f"{name} must be an integer, not bool")
    try:
        number = operator.index(value)
    except TypeError:
        raise type_error(f"{name} must be an integer, got {type(value).__name__} "
                         f"{value!r}") from None
    if low is not None and high is not None and not low <= number < high:
        raise ValueError(f"{name} must be in [{_bound(low)}, {_bound(high)}), got {number}")
    if low is not None and number < low:
        raise ValueError(f"{name} must be >= {low}, got {number}")
    if high is not None and number >= high:
        raise ValueError(f"{name} must be < {_bound(high)}, got {number}")
    return number


def u64(value: Any, name: str, *, type_error: type[TypeError] = TypeError) -> int:
    """An integer in ``[0, 2**64)`` (seeds, PCG32 state), as :func:`integer`."""
    return integer(value, name, low=0, high=U64_LIMIT, type_error=type_error)


def _bound(n: int) -> str:
    """Powers of two above 2**32 read better as such (``2**64``)."""
    if n > 1 << 32 and n & (n - 1) == 0:
        return f"2**{n.bit_length() - 1}"
    return str(n)
