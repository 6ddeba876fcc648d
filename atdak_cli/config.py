"""Settings: flag > environment > config file (profile, then top level) > defaults."""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from atdak_cli import paths
from atdak_cli.catalog import LOCAL_MODEL_ID
from atdak_cli.client import DEFAULT_BASE_URL
from atdak_cli.errors import UsageError

DEFAULT_MODEL = "atdak-gpt-4"

# Ranges of the API page; checked before anything is sent.
RANGES: dict[str, tuple[float, float | None]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
    "max_tokens": (1, None),
    "timeout": (0.001, None),
    "max_cost": (0.0, None),
    "daily_budget": (0.0, None),
}
SAMPLING = ("temperature", "max_tokens", "top_p", "frequency_penalty", "presence_penalty")
_TYPES: dict[str, tuple[type, ...]] = {
    "base_url": (str,),
    "model": (str,),
    "model_path": (str,),
    "render": (str,),
    "color": (str,),
    "system": (str,),
    "history": (bool,),
    "stream": (bool,),
    "allow_insecure_http": (bool,),
    "temperature": (int, float),
    "top_p": (int, float),
    "frequency_penalty": (int, float),
    "presence_penalty": (int, float),
    "max_tokens": (int,),
    "timeout": (int, float),
    "first_content_timeout": (int, float),
    "reasoning_effort": (str,),
    "max_cost": (int, float),
    "daily_budget": (int, float),
}
_NOT_SETTINGS = frozenset({"profile", "role", "var"})
# Tables that are not settings: [profiles.NAME], [roles.NAME], [prices."MODEL"], [mcp.NAME].
_TABLES = ("default_profile", "profiles", "roles", "prices", "mcp")
_PRICE_KEYS = ("input", "cached_input", "output")
_CHOICES = {
    "render": ("markdown", "plain"),
    "color": ("auto", "always", "never"),
    "reasoning_effort": ("low", "medium", "high"),
}


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know, resolved once. Holds no secret."""

    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    profile: str | None = None
    role: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stream: bool = True
    timeout: float | None = None
    first_content_timeout: float | None = None
    render: str | None = None
    color: str = "auto"
    history: bool = True
    allow_insecure_http: bool = False
    model_path: str | None = None
    # Sent as the request's reasoning_effort, for the servers that accept it.
    reasoning_effort: str | None = None
    # Dollars: the most one request may cost (--max-cost), and a profile's per day.
    max_cost: float | None = None
    daily_budget: float | None = None
    config_path: Path = field(default_factory=lambda: Path("config.toml"))
    raw_config: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def sampling(self) -> dict[str, Any]:
        """The API parameters that were set, for the request body."""
        values = {name: getattr(self, name) for name in SAMPLING}
        return {k: v for k, v in values.items() if v is not None}


@dataclass(frozen=True)
class Flags:
    """The command line's options that settings are made of (None, or False: not given), and
    the two that say how to connect: ``api_key`` (found by :mod:`atdak_cli.connect`, never a
    setting) and ``debug``."""

    model: str | None = None
    model_path: str | None = None
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stream: bool | None = None
    render: str | None = None
    color: str | None = None
    role: str | None = None
    var: list[str] | None = None
    profile: str | None = None
    base_url: str | None = None
    timeout: float | None = None
    allow_insecure_http: bool = False
    no_history: bool = False
    api_key: str | None = None
    debug: bool = False
    reasoning_effort: str | None = None
    max_cost: float | None = None
    # Every -m when there are several: ``complete`` compares them (``model`` is the first).
    models: tuple[str, ...] = ()

    @classmethod
    def names(cls) -> frozenset[str]:
        return frozenset(f.name for f in fields(cls))

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Flags:
        """The flags among ``values`` (a command's parsed parameters); the rest are ignored."""
        names = {f.name for f in fields(cls)}
        picked = {k: v for k, v in values.items() if k in names}
        model = picked.get("model")
        if isinstance(model, (list, tuple)):
            picked["model"] = model[0] if model else None
            picked["models"] = tuple(model) if len(model) > 1 else ()
        return cls(**picked)

    def one_model(self, command: str) -> Flags:
        """These flags, refused if ``-m`` came more than once (only ``complete`` compares)."""
        if self.models:
            raise UsageError(
                f"-m/--model is given {len(self.models)} times; atdak {command} takes one",
                hint="compare models with atdak complete -m A -m B (in chat: /compare A B)",
            )
        return self

    def settings(self, *, environ: Mapping[str, str] | None = None) -> Settings:
        """Resolve the settings: config file, profile, environment, role, then these flags."""
        given = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("api_key", "debug", "no_history", "allow_insecure_http", "models"):
            del given[name]
        given = {k: v for k, v in given.items() if v is not None}
        if self.allow_insecure_http:
            given["allow_insecure_http"] = True
        if self.no_history:
            given["history"] = False
        return load_settings(given, environ=environ)


def load_settings(
    flags: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    warn: Callable[[str, str], None] | None = None,
) -> Settings:
    """Resolve settings for one command. ``flags`` holds only options the user gave.
    ``warn(what, hint)`` hears of each unknown key in the file (default: a line on stderr)."""
    env = os.environ if environ is None else environ
    path = paths.config_file(env)
    config = read_config(path)
    for what, hint in unknown_keys(config, path):
        (warn or _warn_on_stderr)(what, hint)
    profile = flags.get("profile") or env.get("ATDAK_PROFILE") or config.get("default_profile")
    layers: dict[str, Any] = {k: v for k, v in config.items() if k in _TYPES}
    if profile:
        layers.update(_profile_section(config, str(profile), path))
    layers.update(_from_environ(env))
    role = flags.get("role")
    if role:
        from atdak_cli.roles import role_settings

        layers.update(role_settings(config, str(role), flags.get("var") or (), path))
    _check_types(layers, path)
    layers.update({k: v for k, v in flags.items() if v is not None and k not in _NOT_SETTINGS})
    if flags.get("model_path"):
        layers["model"] = LOCAL_MODEL_ID  # a GGUF file can only run on the embedded provider
    known = {f.name for f in fields(Settings)}
    settings = Settings(
        **{k: v for k, v in layers.items() if k in known},
        profile=str(profile) if profile else None,
        role=str(role) if role else None,
        config_path=path,
        raw_config=config,
    )
    validate(settings)
    return settings


def read_config(path: Path) -> dict[str, Any]:
    """The parsed config file; absent means empty; invalid TOML names file, line and column."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read {path} ({exc.strerror})") from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef,import-not-found]
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc})") from None


def unknown_keys(config: Mapping[str, Any], path: Path) -> Iterator[tuple[str, str]]:
    """``(what, hint)`` for each key atdak would ignore (``tempreature = 0.5``), naming the
    key, where it is, and the known key closest to it."""
    yield from _unknown_in(config, (*_TYPES, *_TABLES), str(path))
    for table in ("profiles", "roles"):
        for name, section in _tables(config, table):
            yield from _unknown_in(section, tuple(_TYPES), f"[{table}.{name}] of {path}")
    for name, price in _tables(config, "prices"):
        yield from _unknown_in(price, _PRICE_KEYS, f'[prices."{name}"] of {path}')
    if "mcp" not in config:
        return
    from atdak_cli.tools.config import SERVER_KEYS  # only then: tools/ loads with tools

    for name, server in _tables(config, "mcp"):
        yield from _unknown_in(server, SERVER_KEYS, f"[mcp.{name}] of {path}")


def _tables(config: Mapping[str, Any], name: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    tables = config.get(name)
    if isinstance(tables, Mapping):
        yield from ((k, v) for k, v in tables.items() if isinstance(v, Mapping))


def _unknown_in(
    section: Mapping[str, Any], known: tuple[str, ...], where: str
) -> Iterator[tuple[str, str]]:
    import difflib

    for key in section:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else "remove it, or check its spelling"
            yield f"unknown key {key!r} in {where} is ignored", hint


def _warn_on_stderr(what: str, hint: str) -> None:
    sys.stderr.write(f"atdak: warning: {what} — {hint}\n")


def validate(settings: Settings) -> None:
    """Ranges of the API page, known choices, and a usable base URL."""
    for name, (low, high) in RANGES.items():
        value = getattr(settings, name)
        if value is None:
            continue
        if value < low or (high is not None and value > high):
            bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise UsageError(f"{name.replace('_', '-')} must be {bound}, not {value:g}")
    for name, choices in _CHOICES.items():
        value = getattr(settings, name)
        if value is not None and value not in choices:
            raise UsageError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    check_base_url(settings.base_url)


def check_base_url(url: str) -> None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise UsageError(f"the base URL {url!r} is malformed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(
            f"the base URL {url!r} is not an http(s) URL",
            hint="e.g. --base-url https://api.atdak.com/v1",
        )


def check_key_transport(settings: Settings, *, has_key: bool) -> None:
    """Refuse to send a key in clear text across a network (loopback is fine)."""
    parts = urlsplit(settings.base_url)
    if not has_key or parts.scheme != "http" or settings.allow_insecure_http:
        return
    if not is_loopback(parts.hostname or ""):
        raise UsageError(
            f"refusing to send the API key over plain http to {parts.hostname}",
            hint="use https, or pass --allow-insecure-http if you trust the network",
        )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def with_flags(settings: Settings, **changes: Any) -> Settings:
    """A copy with some values changed (the REPL's ``/set``), validated again."""
    updated = replace(settings, **changes)
    validate(updated)
    return updated


def _profile_section(config: Mapping[str, Any], name: str, path: Path) -> dict[str, Any]:
    profiles = config.get("profiles", {})
    if not isinstance(profiles, dict) or name not in profiles:
        known = ", ".join(sorted(profiles)) if isinstance(profiles, dict) else ""
        raise UsageError(
            f"no profile {name!r} in {path}",
            hint=f"known profiles: {known}" if known else "add a [profiles.NAME] section",
        )
    section = profiles[name]
    if not isinstance(section, dict):
        raise UsageError(f"[profiles.{name}] in {path} must be a table")
    return dict(section)


def _check_types(values: Mapping[str, Any], path: Path) -> None:
    for name, value in values.items():
        expected = _TYPES.get(name)
        if expected is None:
            continue
        if isinstance(value, bool) and bool not in expected:
            value = None
        if not isinstance(value, expected):
            kind = " or ".join(t.__name__ for t in expected)
            raise UsageError(f"{name} in {path} must be {kind}, not {values[name]!r}")


def _from_environ(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if env.get("ATDAK_BASE_URL"):
        values["base_url"] = env["ATDAK_BASE_URL"]
    if env.get("ATDAK_MODEL"):
        values["model"] = env["ATDAK_MODEL"]
    return values
