"""Masking secrets in text (no httpx import: the CLI uses it on its start-up path)."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")


def mask_key(key: str) -> str:
    """``sk-…abcd``: enough to tell keys apart, never enough to use one."""
    if len(key) <= 8:
        return "…"
    prefix = "sk-" if key.startswith("sk-") else ""
    return f"{prefix}…{key[-4:]}"


def redact_key(text: str, key: str | None) -> str:
    """``text`` with every occurrence of ``key`` masked."""
    if key and len(key) >= 4 and key in text:
        return text.replace(key, mask_key(key))
    return text


def strip_userinfo(text: str) -> str:
    """``scheme://user:password@host`` anywhere in ``text`` becomes ``scheme://***@host``."""
    return _USERINFO.sub(r"\1***@", text)
