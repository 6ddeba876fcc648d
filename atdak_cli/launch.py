"""The ``atdak`` command's entry point: ``--version`` answers before typer is imported.

typer (with its vendored click) costs ~45 ms to import; a version query needs none of it.
"""

from __future__ import annotations

import sys

from atdak_cli import __version__

TYPE_CHECKING = False  # typing itself costs ~10 ms (re, enum, collections): not for --version
if TYPE_CHECKING:
    from typing import NoReturn


def main() -> NoReturn:
    if sys.argv[1:] in (["--version"], ["-V"]):
        sys.stdout.write(f"atdak {__version__}\n")
        sys.exit(0)
    from atdak_cli.cli import main as run

    run()
