"""``atdak login`` and ``atdak logout``: the stored API key (mode 0600)."""

from __future__ import annotations

from atdak_cli import paths
from atdak_cli.secrets import read_key_input, remove_key, store_key
from atdak_cli.terminal import open_terminal


def login(profile: str | None) -> None:
    """Read a key (hidden from the terminal, or from stdin) and store it for ``profile``."""
    terminal = open_terminal(None)
    key = read_key_input(terminal)
    path = paths.keys_file()
    store_key(path, profile, key)
    terminal.notice(f"atdak: key saved to {path}")


def logout(profile: str | None) -> None:
    path = paths.keys_file()
    removed = remove_key(path, profile)
    open_terminal(None).notice(
        f"atdak: key removed from {path}" if removed else "atdak: no stored key to remove"
    )
