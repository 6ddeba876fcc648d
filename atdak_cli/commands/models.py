"""``atdak models``: the server's models, enriched by the API page's catalogue."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from atdak_cli import catalog, paths
from atdak_cli.catalog import ModelInfo
from atdak_cli.secrets import write_private
from atdak_cli.text import format_columns

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient
    from atdak_cli.config import Flags, Settings
    from atdak_cli.terminal import Terminal

NO_KEY_NOTICE = (
    "atdak: the server's model list needs an API key (`atdak login`);"
    " showing the built-in catalogue"
)


def run(flags: Flags, *, as_json: bool) -> int:
    from atdak_cli.terminal import open_terminal

    settings = flags.settings()
    terminal = open_terminal(settings.color)
    found = list_models(settings, terminal, api_key_flag=flags.api_key, debug=flags.debug)
    print_models(found, terminal, as_json=as_json)
    return 0


def list_models(
    settings: Settings, terminal: Terminal, *, api_key_flag: str | None, debug: bool
) -> list[ModelInfo]:
    """What ``atdak models`` shows. Without a key the catalogue (and the embedded model)
    are still worth showing: a new user's first command should not be a refusal."""
    from atdak_cli.connect import open_client
    from atdak_cli.errors import MissingKeyError

    try:
        with open_client(
            settings, api_key_flag=api_key_flag, terminal=terminal, debug=debug
        ) as client:
            return with_local(fetch_models(client, terminal))
    except MissingKeyError:  # raised before anything is sent
        terminal.notice(NO_KEY_NOTICE)
        return with_local(list(catalog.CATALOG))


def fetch_models(client: AtdakClient, terminal: Terminal) -> list[ModelInfo]:
    """``GET /models`` enriched with context lengths; the catalogue alone when the server
    has no such endpoint (404)."""
    from atdak_cli.client import NotFoundError

    try:
        served = client.models.list()
    except NotFoundError:
        terminal.notice("atdak: the server has no /models endpoint; showing the built-in catalogue")
        return list(catalog.CATALOG)
    models = [_enrich(model.id, model.owned_by) for model in served]
    _cache_ids([m.id for m in models])
    return models


def _cache_ids(ids: list[str]) -> None:
    """Best effort: completion works without the cache, so a failure here is not an error."""
    with contextlib.suppress(OSError):
        write_private(paths.models_cache_file(), json.dumps(ids) + "\n")


def with_local(models: list[ModelInfo]) -> list[ModelInfo]:
    """The embedded model joins the list when its extra is installed."""
    from atdak_cli.local.model import is_available

    if is_available() and all(m.id != catalog.LOCAL.id for m in models):
        return [*models, catalog.LOCAL]
    return models


def _enrich(model_id: str, owner: str) -> ModelInfo:
    # A server's own "local" model is not our embedded one.
    known = catalog.lookup(model_id) if model_id != catalog.LOCAL.id else None
    if known is not None:
        return known
    return ModelInfo(model_id, None, f"owned by {owner}" if owner else "")


def print_models(models: list[ModelInfo], terminal: Terminal, *, as_json: bool) -> None:
    out = terminal.stdout
    if as_json:
        out.write(json.dumps([asdict(m) for m in models], ensure_ascii=False, indent=2) + "\n")
    elif terminal.stdout_isatty and terminal.color:
        _print_table(models, terminal)
    else:
        rows = [["MODEL", "CONTEXT", "DESCRIPTION"]]
        rows += [[m.id, catalog.format_tokens(m.context_length), m.description] for m in models]
        out.write("\n".join(format_columns(rows)) + "\n")
    out.flush()


def _print_table(models: list[ModelInfo], terminal: Terminal) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("Model", style="cyan", no_wrap=True)
    table.add_column("Context", justify="right")
    table.add_column("Description")
    for m in models:
        table.add_row(m.id, catalog.format_tokens(m.context_length), m.description)
    Console(file=terminal.stdout, width=terminal.width).print(table)
