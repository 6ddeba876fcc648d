"""The messages of a ``complete`` request: from arguments, stdin, files and a messages file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, AnyStr

from atdak_cli.errors import UsageError
from atdak_cli.turn import ApiMessage

ROLES = ("system", "user", "assistant")
STDIN_NAME = "-"


class InputTooLongError(UsageError):
    """One input is longer than the caller's bound: refused before it is read whole."""

    def __init__(self, name: str, max_bytes: int) -> None:
        super().__init__(f"{name} is longer than {max_bytes} bytes")
        self.name, self.max_bytes = name, max_bytes


@dataclass(frozen=True)
class PromptParts:
    """What the user gave on the command line."""

    words: Sequence[str] = ()
    files: Sequence[str] = ()
    system: str | None = None
    messages_file: str | None = None


def build_messages(
    parts: PromptParts, *, stdin: IO[str] | None, max_bytes: int | None = None
) -> list[ApiMessage]:
    """stdin first, then each file with its name, then the prompt; ``stdin`` is ``None``
    when it is a terminal (nothing piped). stdin or a file longer than ``max_bytes`` is
    refused (:class:`InputTooLongError`) having read no more than ``max_bytes + 1`` of it."""
    messages = read_messages_file(parts.messages_file) if parts.messages_file else []
    if parts.system is not None:
        messages.insert(0, {"role": "system", "content": parts.system})
    piped = None if stdin is None or STDIN_NAME in parts.files else read_stdin(stdin, max_bytes)
    sections = [piped.rstrip("\n")] if piped and piped.strip() else []
    sections += [file_section(name, stdin, max_bytes) for name in parts.files]
    prompt = " ".join(parts.words).strip()
    if prompt:
        sections.append(prompt)
    if sections:
        messages.append({"role": "user", "content": "\n\n".join(sections)})
    if not any(m["role"] == "user" for m in messages):
        raise UsageError(
            "nothing to send: the prompt is empty",
            hint='give a prompt (atdak complete "...") or pipe text into atdak',
        )
    return messages


def read_stdin(stdin: IO[str], max_bytes: int | None = None) -> str:
    """All of stdin, which must be UTF-8 text (and at most ``max_bytes`` long)."""
    name = "standard input"
    buffer = getattr(stdin, "buffer", None)
    if buffer is None:  # a text stream with no bytes beneath (io.StringIO): chars for bytes
        return _read_bounded(stdin, name, max_bytes)
    return decode_text(_read_bounded(buffer, name, max_bytes), name)


def _read_bounded(stream: IO[AnyStr], name: str, max_bytes: int | None) -> AnyStr:
    """The whole stream, or ``InputTooLongError`` after reading one unit past the bound:
    memory follows the bound, not what was piped in."""
    if max_bytes is None:
        return stream.read()
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise InputTooLongError(name, max_bytes)
    return data


def file_section(name: str, stdin: IO[str] | None, max_bytes: int | None = None) -> str:
    if name == STDIN_NAME:
        text = read_stdin(stdin, max_bytes) if stdin is not None else ""
        return text
    text = read_text_file(Path(name), max_bytes)
    return f'<file name="{name}">\n{text.rstrip()}\n</file>'


def read_text_file(path: Path, max_bytes: int | None = None) -> str:
    """A UTF-8 text file, or a one-line usage error saying why not."""
    try:
        with path.open("rb") as handle:
            data = _read_bounded(handle, str(path), max_bytes)
    except FileNotFoundError:
        raise UsageError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"cannot read {path}: it is a directory") from None
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_text(data, str(path))


def decode_text(data: bytes, name: str) -> str:
    if b"\0" in data:
        raise UsageError(f"{name} looks binary (it contains NUL bytes); only text can be sent")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{name} is not UTF-8 text (invalid byte at offset {exc.start})",
            hint="convert it first, e.g. iconv -t UTF-8",
        ) from None


def read_messages_file(name: str) -> list[ApiMessage]:
    """A JSON array of ``{role, content}`` objects, the API's own shape."""
    text = read_text_file(Path(name))
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{name} is not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise UsageError(f"{name} must hold a JSON array of messages")
    return [_message(item, name, index) for index, item in enumerate(data)]


def _message(item: object, name: str, index: int) -> ApiMessage:
    if not isinstance(item, dict):
        raise UsageError(f"{name}: message {index} is not an object")
    role, content = item.get("role"), item.get("content")
    if role not in ROLES:
        raise UsageError(f"{name}: message {index} has role {role!r}; use {', '.join(ROLES)}")
    if not isinstance(content, str):
        raise UsageError(f"{name}: message {index} has no text content")
    return {"role": role, "content": content}
