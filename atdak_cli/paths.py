"""Where atdak keeps its files (platformdirs, overridable by environment variables), and how it
replaces one whole: a reader sees the old contents or the new, never half of them."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$ATDAK_CONFIG_DIR``, else the platform's user config directory."""
    env = os.environ if environ is None else environ
    if env.get("ATDAK_CONFIG_DIR"):
        return Path(env["ATDAK_CONFIG_DIR"]).expanduser()
    import platformdirs

    return platformdirs.user_config_path("atdak")


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$ATDAK_DATA_DIR``, else the platform's user data directory."""
    env = os.environ if environ is None else environ
    if env.get("ATDAK_DATA_DIR"):
        return Path(env["ATDAK_DATA_DIR"]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("atdak")


def config_file(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "config.toml"


def keys_file(environ: Mapping[str, str] | None = None) -> Path:
    return config_dir(environ) / "keys.json"


def history_file(environ: Mapping[str, str] | None = None) -> Path:
    return data_dir(environ) / "history.db"


def input_history_file(environ: Mapping[str, str] | None = None) -> Path:
    return data_dir(environ) / "input-history"


def models_cache_file(environ: Mapping[str, str] | None = None) -> Path:
    """The model ids of the last ``atdak models`` (shell completion offers them offline)."""
    return data_dir(environ) / "models-cache.json"


def replace_file(path: Path, chunks: Iterable[str], *, mode: int) -> None:
    """Write ``chunks`` to a temp file beside ``path`` with ``mode`` from its creation (mkstemp
    makes it 0600), then rename it over ``path``; the temp file never outlives a failure."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.writelines(chunks)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
