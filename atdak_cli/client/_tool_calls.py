"""Streamed tool-call fragments joined into complete calls.

OpenAI's streaming shape, followed by vLLM and llama.cpp: the first fragment of a call carries
its ``index``, ``id``, ``type`` and function ``name``; the next ones only the ``index`` and a
piece of the ``arguments`` text, cut anywhere — inside a JSON string, inside an escape, or
between the two UTF-16 halves (``\\ud83d`` | ``\\ude00``) of one character.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from atdak_cli.client._types import (
    ChatCompletionChunk,
    ChatCompletionMessageToolCall,
    ChoiceDeltaToolCall,
    Function,
)

__all__ = ["ToolCallAssembler"]

_SURROGATE = re.compile("[\ud800-\udfff]")


class ToolCallAssembler:
    """Feed it fragments (or whole chunks); ``calls()`` gives the complete calls so far, in
    the order their first fragments came.

        assembler = ToolCallAssembler()
        for chunk in stream:
            assembler.add_chunk(chunk)
        for call in assembler.calls():
            run(call.function.name, call.function.parse_arguments())
    """

    def __init__(self, *, choice_index: int = 0) -> None:
        self._choice_index = choice_index
        self._ids: dict[int, str] = {}
        self._types: dict[int, str] = {}
        self._names: dict[int, str] = {}
        # Argument pieces, joined once when asked for: joining per fragment is quadratic.
        self._arguments: dict[int, list[str]] = {}

    def add_chunk(self, chunk: ChatCompletionChunk) -> None:
        """The tool-call fragments of ``chunk``'s choice (choice 0 unless told otherwise)."""
        for choice in chunk.choices:
            if choice.index == self._choice_index and choice.delta.tool_calls:
                self.add(choice.delta.tool_calls)

    def add(self, fragments: Iterable[ChoiceDeltaToolCall]) -> None:
        """Fragments of one delta."""
        for fragment in fragments:
            index = fragment.index
            pieces = self._arguments.setdefault(index, [])
            if fragment.id:
                self._ids[index] = fragment.id
            if fragment.type:
                self._types[index] = fragment.type
            function = fragment.function
            if function is None:
                continue
            if function.name and index not in self._names:
                self._names[index] = function.name
            if function.arguments:
                pieces.append(function.arguments)

    def __bool__(self) -> bool:
        return bool(self._arguments)

    def calls(self) -> list[ChatCompletionMessageToolCall]:
        """The calls assembled so far (a call still streaming has its arguments so far)."""
        return [
            ChatCompletionMessageToolCall(
                id=self._ids.get(index, ""),
                type=self._types.get(index, "function"),
                function=Function(
                    name=self._names.get(index, ""), arguments=_join(self._arguments[index])
                ),
            )
            for index in self._arguments
        ]


def _join(pieces: list[str]) -> str:
    text = "".join(pieces)
    if _SURROGATE.search(text) is None:
        return text
    # The two halves of a character sent as separate \\u escapes: pair them up again.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
