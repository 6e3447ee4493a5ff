"""``python -m varinit``: with no arguments, the quick demo of the core engine."""
from __future__ import annotations

import sys

from ._demo import run_demo


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m varinit`` and the ``varinit`` command."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        run_demo()
        return 0
    print(f"varinit: unknown command {argv[0]!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
