"""``python -m varinit`` and the ``varinit`` command.

With no arguments: the quick demo of the core engine.  Otherwise the
commands of :mod:`varinit.cli` (``init``, ``verify``, ``info``, ``bench``).
"""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m varinit`` and the ``varinit`` command.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code (see :mod:`varinit.cli`).
    """
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        from ._demo import run_demo
        run_demo()
        return 0
    from .cli import main as cli_main
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
