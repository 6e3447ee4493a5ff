"""``python -m varinit``: the same program as the ``varinit`` command.

With no arguments it runs the quick demo of the core engine; otherwise the
commands of :mod:`varinit.cli` (``init``, ``verify``, ``info``, ``bench``).
"""
from __future__ import annotations

import sys

from .cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
