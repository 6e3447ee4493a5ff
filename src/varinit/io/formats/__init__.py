"""The file formats :func:`varinit.save` writes and :func:`varinit.io.verify`
checks, chosen by the file name's suffix.

Each format is a :class:`FileFormat` in a module of its own (``npy``,
``safetensors``), registered below; save, verify and provenance only talk to
the interface.  Adding a format is one module with a :class:`FileFormat`
subclass plus one :func:`register` call (``docs/huge-tables.md``, "File
formats").
"""
from __future__ import annotations

from ._base import FileFormat, LayoutEntry, Tensor, sidecar_path
from .npy import NpyFormat
from .safetensors import SafetensorsFormat

__all__ = ["FileFormat", "LayoutEntry", "Tensor", "FORMATS", "register", "unregister",
           "for_path", "sidecar_path"]

#: The registered formats, by name, in the order their suffixes are listed.
FORMATS: dict[str, FileFormat] = {}


def register(fmt: FileFormat) -> FileFormat:
    """Make a format available to :func:`varinit.save` and :func:`varinit.io.verify`.

    Parameters
    ----------
    fmt : FileFormat
        An instance; its ``name`` and ``suffix`` must not be taken.

    Returns
    -------
    FileFormat
        ``fmt``.

    Raises
    ------
    TypeError
        If ``fmt`` is not a :class:`FileFormat`.
    ValueError
        If its name or suffix is registered already, or the suffix does not
        start with a dot.
    """
    if not isinstance(fmt, FileFormat):
        raise TypeError(f"expected a FileFormat, got {type(fmt).__name__}")
    suffix = fmt.suffix
    if not suffix.startswith(".") or suffix != suffix.lower():
        raise ValueError(f"format suffix must be lower case and start with a dot, got {suffix!r}")
    if fmt.name in FORMATS:
        raise ValueError(f"a file format named {fmt.name!r} is registered already")
    if any(f.suffix == suffix for f in FORMATS.values()):
        raise ValueError(f"a file format for {suffix} files is registered already")
    FORMATS[fmt.name] = fmt
    return fmt


def unregister(name: str) -> FileFormat:
    """Remove the format registered as ``name`` and return it.

    Raises
    ------
    KeyError
        If no format has that name.
    """
    return FORMATS.pop(name)


def for_path(path: str) -> FileFormat:
    """The format of a file, from its suffix (any case).

    Parameters
    ----------
    path : str

    Returns
    -------
    FileFormat

    Raises
    ------
    ValueError
        If no registered format has the suffix.
    """
    lower = path.lower()
    matches = [f for f in FORMATS.values() if lower.endswith(f.suffix)]
    if not matches:
        suffixes = [f.suffix for f in FORMATS.values()]
        listed = " or ".join([", ".join(suffixes[:-1]), suffixes[-1]] if len(suffixes) > 1
                             else suffixes)
        raise ValueError(f"cannot tell the file format of {path!r}: use a {listed} file name")
    return max(matches, key=lambda f: len(f.suffix))     # ".tar.gz" before ".gz"


register(NpyFormat())
register(SafetensorsFormat())
