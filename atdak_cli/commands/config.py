"""``atdak config path|show``: where the config is, and the settings in effect (key masked)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from atdak_cli import paths
from atdak_cli.secrets import exposure_warning, find_key, mask_key
from atdak_cli.terminal import open_terminal
from atdak_cli.text import format_columns

if TYPE_CHECKING:
    from atdak_cli.config import Flags


def show_path() -> None:
    print(paths.config_file())


def show_settings(flags: Flags) -> None:
    settings = flags.settings()
    terminal = open_terminal(settings.color)
    keys = paths.keys_file()
    found = find_key(flag=None, profile=settings.profile, environ=os.environ, path=keys)
    key = f"{mask_key(found.value)} (from {found.source})" if found else "(none)"
    rows = [
        ["config file", str(settings.config_path)],
        ["keys file", str(keys)],
        ["history", str(paths.history_file()) if settings.history else "off"],
        ["profile", settings.profile or "(none)"],
        ["base_url", settings.base_url],
        ["model", settings.model],
        ["api key", key],
    ]
    rows += [[name, str(value)] for name, value in settings.sampling().items()]
    if settings.timeout is not None:
        rows.append(["timeout", f"{settings.timeout:g} s"])
    terminal.stdout.write("\n".join(format_columns(rows)) + "\n")
    warning = exposure_warning(keys) if found and found.source == str(keys) else None
    if warning:
        terminal.notice(warning)
