"""``python -m dolma.cli``: the same as the ``dolma`` command.

Dolma's tests call :func:`main` from here (``main(argv=["-c", config, "mix"])``): in that form a command that
fails raises — the :class:`~dolma.core.errors.DolmaError` it met (``DolmaConfigError`` is our ``ConfigError``),
or a :class:`~dolma.core.errors.DolmaError` naming the exit code — instead of printing and returning a code.
"""

import sys
from typing import Optional, Sequence

from dolma.cli import main as _cli_main
from dolma.cli import run_argv

__all__ = ["main"]


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Run ``dolma <argv...>``; raise on failure (Dolma's ``dolma.cli.__main__.main``)."""
    run_argv(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(_cli_main())
