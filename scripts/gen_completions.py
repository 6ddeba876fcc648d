"""Regenerate completions/ from the typer app, or check that it is up to date.

python scripts/gen_completions.py           # write completions/atdak.bash, _atdak, atdak.fish
python scripts/gen_completions.py --check   # exit 1 and name the stale files
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import typer

from atdak_cli.cli import app
from atdak_cli.commands.completion import generate

OUT = Path(__file__).resolve().parent.parent / "completions"


def stale_files(directory: Path = OUT) -> list[str]:
    scripts = generate(typer.main.get_command(app))
    return [name for name, text in scripts.items() if _read(directory / name) != text]


def write(directory: Path = OUT) -> list[Path]:
    directory.mkdir(exist_ok=True)
    written = []
    for name, text in generate(typer.main.get_command(app)).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only check, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            print(f"completions/{name} is stale: run python scripts/gen_completions.py")
        return 1 if stale else 0
    for path in write():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
