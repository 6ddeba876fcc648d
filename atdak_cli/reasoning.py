"""A model's thinking, apart from its answer, whatever shape the server sends it in.

Servers disagree on where the thinking goes:

- ``delta.reasoning_content`` (DeepSeek, older vLLM, llama.cpp) and ``delta.reasoning``
  (current vLLM, Ollama's ``/v1``, OpenRouter): the client reads both into
  ``reasoning_content``;
- ``<think>…</think>`` inline in ``content`` (DeepSeek-R1 and Qwen3 served raw, many local
  servers and proxies);
- no text at all: only ``usage.completion_tokens_details.reasoning_tokens`` says the model
  thought (OpenAI's o-series; see :func:`reasoning_tokens`).

:class:`ThinkSplitter` turns each choice delta into ``(reasoning, answer)`` pieces.

An inline ``<think>`` is recognised **only at the start of the answer** (after blank space):
that is where every model that emits it opens it, while a ``<think>`` further on is far more
likely text about the tag (an answer explaining a prompt format) than thinking, and hiding it
would lose part of the answer. The tags may be split across deltas at any byte; until the start
of the content can be told apart from an opening tag (at most 7 characters), it is held back.
Once the content is known not to open with ``<think>``, each delta passes through untouched:
the per-chunk cost without reasoning is one comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OPEN_TAG, CLOSE_TAG = "<think>", "</think>"

# The splitter's states.
_START, _OPENING, _THINKING, _AFTER_THINKING, _ANSWER = range(5)


class ThinkSplitter:
    """Splits a stream of deltas into reasoning and answer pieces (see the module docstring)."""

    __slots__ = ("_held", "_state", "saw_inline")

    def __init__(self) -> None:
        self._state = _START
        self._held = ""
        # True once an inline <think> was found: the stream's raw ``content`` then holds it.
        self.saw_inline = False

    def feed(self, content: str, reasoning: str = "") -> tuple[str, str]:
        """The ``(reasoning, answer)`` that one delta adds (either may be ``""``)."""
        if self._state == _ANSWER or not content:
            return reasoning, content
        thought, answer = self._split(content)
        return reasoning + thought, answer

    def finish(self) -> tuple[str, str]:
        """What was held back when the stream ends: an unclosed ``<think>`` is reasoning
        (the model was cut off while thinking); a lone ``<thi`` is answer."""
        held, self._held = self._held, ""
        if self._state == _THINKING:
            return held, ""
        return ("", held) if self._state == _START else ("", "")

    def _split(self, content: str) -> tuple[str, str]:
        if self._state == _START:
            return self._at_start(content)
        if self._state == _OPENING:
            return self._opening(content)
        if self._state == _THINKING:
            return self._in_thinking(content)
        return "", self._after_thinking(content)

    def _at_start(self, content: str) -> tuple[str, str]:
        text = self._held + content
        head = text.lstrip()
        if head.startswith(OPEN_TAG):
            self._held, self._state, self.saw_inline = "", _OPENING, True
            return self._opening(head[len(OPEN_TAG) :])
        if OPEN_TAG.startswith(head):  # still undecided: blank space or a part of the tag
            self._held = text
            return "", ""
        self._held, self._state = "", _ANSWER
        return "", text

    def _opening(self, content: str) -> tuple[str, str]:
        # "<think>\n": the blank space after the tag is not the thought's.
        text = content.lstrip()
        if not text:
            return "", ""
        self._state = _THINKING
        return self._in_thinking(text)

    def _in_thinking(self, content: str) -> tuple[str, str]:
        text = self._held + content
        end = text.find(CLOSE_TAG)
        if end >= 0:
            self._held, self._state = "", _AFTER_THINKING
            return text[:end], self._after_thinking(text[end + len(CLOSE_TAG) :])
        keep = _partial_suffix(text, CLOSE_TAG)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep], ""

    def _after_thinking(self, content: str) -> str:
        # Models write "</think>\n\n" before the answer: that blank space is not the answer's.
        answer = content.lstrip()
        if answer:
            self._state = _ANSWER
        return answer


def _partial_suffix(text: str, tag: str) -> int:
    """The length of the longest end of ``text`` that begins ``tag`` (0 if none)."""
    if "<" not in text[1 - len(tag) :]:
        return 0  # the common case while thinking, decided in C
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


def split_text(content: str, reasoning: str = "") -> tuple[str, str]:
    """A whole answer's ``(reasoning, answer)``: the same rules as streaming it; the blank
    lines around an inline thought are not kept."""
    splitter = ThinkSplitter()
    thought, answer = splitter.feed(content)
    rest_thought, rest_answer = splitter.finish()
    return reasoning + (thought + rest_thought).strip(), answer + rest_answer


def reasoning_tokens(usage: Mapping[str, Any] | None) -> int:
    """``usage.completion_tokens_details.reasoning_tokens`` (0 when absent or not a count)."""
    details = usage.get("completion_tokens_details") if usage else None
    value = details.get("reasoning_tokens") if isinstance(details, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


EFFORTS = ("low", "medium", "high")


def check_effort(value: str) -> str:
    """A ``--reasoning-effort`` value, or ValueError naming the accepted ones."""
    effort = value.strip().lower()
    if effort not in EFFORTS:
        raise ValueError(f"reasoning effort must be one of {', '.join(EFFORTS)}, not {value!r}")
    return effort
