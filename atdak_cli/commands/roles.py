"""``atdak roles list|show``: the roles of the config file (:mod:`atdak_cli.roles`)."""

from __future__ import annotations

from atdak_cli.config import Flags
from atdak_cli.roles import role_section, roles_in
from atdak_cli.terminal import open_terminal
from atdak_cli.text import format_columns


def list_roles() -> None:
    settings = Flags().settings()
    terminal = open_terminal(None)
    roles = roles_in(settings.raw_config)
    if not roles:
        terminal.notice(f"atdak: no roles yet; add a [roles.NAME] table to {settings.config_path}")
        return
    rows = [["ROLE", "MODEL", "SYSTEM"]]
    for name, section in sorted(roles.items()):
        system = " ".join(str(section.get("system", "")).split())
        rows.append([name, str(section.get("model", "")), system[:60]])
    terminal.stdout.write("\n".join(format_columns(rows)) + "\n")


def show_role(name: str) -> None:
    settings = Flags().settings()
    terminal = open_terminal(None)
    section = role_section(settings.raw_config, name, settings.config_path)
    lines = [f"{key} = {value!r}" for key, value in section.items() if key != "system"]
    if "system" in section:
        lines.append(f"system:\n{section['system']}")
    terminal.stdout.write("\n".join(lines) + "\n")
