"""Masking secrets in text (no httpx import: the CLI uses it on its start-up path)."""

from __future__ import annotations

import re

_USERINFO = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_WORD = re.compile(r"[A-Za-z0-9_-]+")
# Keys are random: ``sk-...`` (OpenAI and the many servers that copy it), or a long run of
# letters mixed with digits (``gsk_...``, ``hf_...``, ``AIza...``). Model names, versions,
# paths and option names have no such run.
_RANDOM_RUN = re.compile(r"[A-Za-z0-9]{20,}")


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


def redact_key_shaped(text: str) -> str:
    """``text`` with every word that looks like an API key masked: a key typed where a
    command or option was expected must not be echoed by the message refusing it."""
    return _WORD.sub(_mask_if_key_shaped, text)


def _mask_if_key_shaped(match: re.Match[str]) -> str:
    word = match.group()
    bare = word.lstrip("-")  # ``--sk-...``: a key taken for an option
    return word[: len(word) - len(bare)] + mask_key(bare) if looks_like_key(bare) else word


def looks_like_key(word: str) -> bool:
    if word.startswith("sk-") and len(word) > 8:
        return True
    return any(not run.isalpha() and not run.isdigit() for run in _RANDOM_RUN.findall(word))
