"""Roles: named system prompts with default parameters (``[roles.NAME]`` in config.toml)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from atdak_cli.errors import UsageError

# Only {identifier} is a placeholder, so JSON or code braces in a prompt stay as they are.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def role_settings(
    config: Mapping[str, Any], name: str, variables: Sequence[str], path: Path
) -> dict[str, Any]:
    """The role's values with its system prompt's placeholders filled from ``--var``."""
    section = role_section(config, name, path)
    values = dict(section)
    system = values.get("system")
    if isinstance(system, str):
        values["system"] = fill(system, parse_vars(variables), role=name)
    return values


def parse_vars(variables: Sequence[str]) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in variables:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--var takes name=value, not {item!r}")
        parsed[name.strip()] = value
    return parsed


def fill(template: str, variables: Mapping[str, str], *, role: str) -> str:
    missing = sorted({m for m in _PLACEHOLDER.findall(template) if m not in variables})
    if missing:
        flags = " ".join(f"--var {m}=..." for m in missing)
        raise UsageError(f"role {role!r} needs {', '.join(missing)}", hint=f"pass {flags}")
    return _PLACEHOLDER.sub(lambda m: variables[m.group(1)], template)


def roles_in(config: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    roles = config.get("roles", {})
    if not isinstance(roles, dict):
        return {}
    return {k: v for k, v in roles.items() if isinstance(v, dict)}


def role_section(config: Mapping[str, Any], name: str, path: Path) -> Mapping[str, Any]:
    roles = roles_in(config)
    if name not in roles:
        known = ", ".join(sorted(roles))
        raise UsageError(
            f"no role {name!r} in {path}",
            hint=f"known roles: {known}" if known else "add a [roles.NAME] table",
        )
    return roles[name]
