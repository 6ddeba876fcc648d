"""The API key: where it is found, how it is stored (0600 from creation), how it is masked."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from atdak_cli.client import mask_key as mask_key
from atdak_cli.errors import BadKeyError, UsageError
from atdak_cli.paths import replace_file

if TYPE_CHECKING:
    from atdak_cli.terminal import Terminal


@dataclass(frozen=True)
class FoundKey:
    """A key and where it came from (for messages: never the key itself)."""

    value: str
    source: str


def find_key(
    *, flag: str | None, profile: str | None, environ: Mapping[str, str], path: Path
) -> FoundKey | None:
    """``--api-key`` > ``$ATDAK_API_KEY`` > the keys file (the profile's entry, else default)."""
    if flag is not None:
        return FoundKey(validate_key(flag, "--api-key"), "--api-key")
    if environ.get("ATDAK_API_KEY") is not None:
        return FoundKey(validate_key(environ["ATDAK_API_KEY"], "$ATDAK_API_KEY"), "$ATDAK_API_KEY")
    stored = read_keys(path)
    name = profile or "default"
    value = stored.get(name) or (stored.get("default") if profile else None)
    if value is None:
        return None
    return FoundKey(validate_key(value, str(path)), str(path))


def validate_key(key: str, source: str) -> str:
    """Refuse keys that would be sent wrong (``Bearer sk-...\\n`` breaks the header)."""
    if not key:
        raise BadKeyError(f"the API key from {source} is empty")
    if key != key.strip():
        raise BadKeyError(f"the API key from {source} has leading or trailing whitespace")
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c.isspace() for c in key):
        raise BadKeyError(f"the API key from {source} contains spaces or control characters")
    return key


def read_keys(path: Path) -> dict[str, str]:
    """The stored keys by profile name; an absent file holds none."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror})") from None
    try:
        data = json.loads(raw)
    except ValueError:
        raise UsageError(f"{path} is not valid JSON", hint="run `atdak login` again") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} is not a JSON object", hint="run `atdak login` again")
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def store_key(path: Path, profile: str | None, key: str) -> None:
    """Save ``key`` for ``profile``; the file is 0600 from the moment it exists."""
    keys = read_keys(path)
    keys[profile or "default"] = validate_key(key, "the input")
    write_private(path, json.dumps(keys, indent=2) + "\n")


def remove_key(path: Path, profile: str | None) -> bool:
    keys = read_keys(path)
    if keys.pop(profile or "default", None) is None:
        return False
    if keys:
        write_private(path, json.dumps(keys, indent=2) + "\n")
    else:
        with _writing(path):
            path.unlink()
    return True


def write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 from the file's creation."""
    with _writing(path):
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        replace_file(path, [text], mode=0o600)


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A failure to change the keys file names it (a read-only or full config dir)."""
    try:
        yield
    except OSError as exc:
        raise UsageError(
            f"cannot write {path} ({exc.strerror or exc})",
            hint="make its directory writable, or point ATDAK_CONFIG_DIR elsewhere",
        ) from None


def is_readable_by_others(path: Path) -> bool:
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def exposure_warning(path: Path) -> str | None:
    """The warning for a key file that group or others may open (ssh refuses such a private
    key; we send the key but say so on every run that reads it), None for a private one."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None
    return f"atdak: warning: {path} is readable by others (mode {mode:04o}); run chmod 600 {path}"


def read_key_input(terminal: Terminal) -> str:
    """The key typed at a hidden prompt, or the first line of piped stdin."""
    if terminal.stdin_isatty:
        import getpass

        key = getpass.getpass("API key (input hidden): ", stream=terminal.stderr)  # type: ignore[arg-type]
    else:
        key = terminal.stdin.readline()
    return key.strip()
