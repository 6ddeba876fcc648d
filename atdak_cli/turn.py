"""One exchange: request -> stream -> renderer -> history. Owns the ways out (Ctrl-C too)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from atdak_cli.errors import Terminated, ToolCallError
from atdak_cli.reasoning import ThinkSplitter, split_text

if TYPE_CHECKING:
    from atdak_cli.client import (
        AtdakClient,
        ChatCompletion,
        ChatCompletionChunk,
        ChatCompletionMessageToolCall,
        CompletionUsage,
        Stream,
    )
    from atdak_cli.cost import Budget
    from atdak_cli.render import Renderer

# How an answer ended: the one list, used by the turn, the chat on screen and the history.
AnswerStatus = Literal["complete", "interrupted", "incomplete", "error"]
# A message as the API takes it: {"role": ..., "content": ...}.
ApiMessage = dict[str, str]


@dataclass
class TurnRequest:
    model: str
    messages: Sequence[ApiMessage]
    params: dict[str, Any]
    stream: bool = True
    # Fields beyond the API page's (e.g. OpenAI's stream_options), sent as they are.
    extra_body: dict[str, Any] = field(default_factory=dict)
    # The tools offered (the API's ``tools``); with them an answer may be tool calls.
    tools: list[dict[str, Any]] | None = None
    # Runs once, when the model begins to ask for a tool call: the moment to start the tool
    # servers (in the background, while the call's arguments stream). An answer without
    # calls starts none: the SDK's import (~0.9 s of CPU) would slow its streaming.
    on_tool_call: Callable[[], None] | None = field(default=None, repr=False)
    # --max-cost or a daily budget: the stream is stopped once its running cost crosses it.
    budget: Budget | None = None


@dataclass
class TurnResult:
    """What came back, however the turn ended."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: CompletionUsage | None = None
    # The answer as a chat.completion object (--json), built only when asked for.
    assemble: Callable[[], ChatCompletion] | None = field(default=None, repr=False)
    status: AnswerStatus = "complete"
    error: str | None = None
    # Content chunks received: the completion's token count when the server sends none.
    chunks: int = 0
    # The tools the model asked to call (their names; "" for a call without one).
    tool_calls: list[str] = field(default_factory=list)
    # The same calls whole, as the API's dicts (id, type, function: name, arguments).
    calls: list[dict[str, Any]] = field(default_factory=list)
    # The thinking came inline (<think>) in the content: a partial text must be split too.
    inline_reasoning: bool = False

    @property
    def completion(self) -> ChatCompletion | None:
        return None if self.assemble is None else self.assemble()


def with_usage(request: TurnRequest) -> TurnRequest:
    """Ask a streamed answer for its token counts too: OpenAI's ``stream_options``, which
    compatible servers accept (a whole answer always has them)."""
    if request.stream:
        request.extra_body["stream_options"] = {"include_usage": True}
    return request


class TurnRecorder(Protocol):
    """Saves an exchange: the question before it is sent, the answer on every way out."""

    def question(self, request: TurnRequest) -> None: ...

    def answer(self, request: TurnRequest, result: TurnResult) -> None: ...


def run_turn(
    client: AtdakClient,
    request: TurnRequest,
    *,
    renderer: Renderer | None,
    recorder: TurnRecorder | None = None,
) -> TurnResult:
    """Send ``request``, show the answer as it comes, and record it whatever happens.

    Exceptions (API errors, KeyboardInterrupt, Terminated) propagate after the partial
    answer has been shown and recorded.
    """
    if recorder is not None:
        recorder.question(request)
    result = TurnResult()
    if renderer is not None:
        renderer.start()
    try:
        if request.stream:
            _stream_answer(client, request, renderer, result)
        else:
            _whole_answer(client, request, renderer, result)
        if not request.tools:
            refuse_tool_calls(result.finish_reason, result.tool_calls)
    except BaseException as exc:
        _fail(result, exc)
        if renderer is not None:
            renderer.abort()
        raise
    else:
        if renderer is not None:
            renderer.finish()
    finally:
        if recorder is not None:
            recorder.answer(request, result)
    return result


def _stream_answer(
    client: AtdakClient, request: TurnRequest, renderer: Renderer | None, result: TurnResult
) -> None:
    stream: Stream[ChatCompletionChunk] = client.chat.completions.create(
        model=request.model,
        messages=request.messages,
        stream=True,
        extra_body=request.extra_body,
        tools=request.tools,
        **request.params,
    )
    batch = _ReadBatch(renderer) if renderer is not None else None
    on_tool_call = request.on_tool_call
    splitter = ThinkSplitter()
    with stream:
        try:
            for chunk in stream:
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    delta = choice.delta
                    result.chunks += bool(delta.content)
                    if on_tool_call is not None and delta.tool_calls:
                        start, on_tool_call = on_tool_call, None
                        start()
                    thought, answer = splitter.feed(delta.content, delta.reasoning_content)
                    if batch is not None:
                        batch.add(thought, answer)
                    if request.budget is not None and (delta.content or delta.reasoning_content):
                        request.budget.add_output(
                            _tokens_in(delta.content + delta.reasoning_content)
                        )
                if batch is not None and not stream.more_ready:
                    batch.flush()
        except BaseException:
            if batch is not None:
                with suppress(Exception):  # what came before the failure is shown
                    batch.add(*splitter.finish())
                    batch.push()
            raise
        finally:
            _take_answer(result, stream, inline=splitter.saw_inline)
    if batch is not None:
        batch.add(*splitter.finish())
        batch.push()
    result.assemble = stream.to_completion


def _tokens_in(text: str) -> int:
    """At least one token a delta (most servers send one each), more for a long one."""
    return max(1, len(text) // 4)


def _take_answer(result: TurnResult, stream: Stream[ChatCompletionChunk], *, inline: bool) -> None:
    """The stream's answer and thinking, an inline ``<think>`` moved out of the answer: the
    answer alone is shown, saved as the answer and sent back in later turns."""
    result.text, result.reasoning = stream.text, stream.reasoning
    if inline:
        result.reasoning, result.text = split_text(result.text, result.reasoning)
    result.inline_reasoning = inline
    result.finish_reason, result.usage = stream.finish_reason, stream.usage
    result.tool_calls = tool_names(stream.tool_calls)
    result.calls = [call.to_dict() for call in stream.tool_calls]


class _ReadBatch:
    """Feeds the renderer once per network read: the deltas of one read, joined, cost one
    renderer call instead of one per token (20 000 for a long answer arriving at once)."""

    def __init__(self, renderer: Renderer) -> None:
        self._renderer = renderer
        self._content: list[str] = []

    def add(self, reasoning: str, content: str) -> None:
        if reasoning:
            self.push()  # in the order they came
            self._renderer.feed_reasoning(reasoning)
        if content:
            self._content.append(content)

    def push(self) -> None:
        if self._content:
            text = "".join(self._content)
            self._content.clear()
            self._renderer.feed(text)

    def flush(self) -> None:
        self.push()
        self._renderer.flush()


def _show(renderer: Renderer, reasoning: str, content: str) -> None:
    if reasoning:
        renderer.feed_reasoning(reasoning)
    if content:
        renderer.feed(content)


def _whole_answer(
    client: AtdakClient, request: TurnRequest, renderer: Renderer | None, result: TurnResult
) -> None:
    completion = client.chat.completions.create(
        model=request.model,
        messages=request.messages,
        stream=False,
        extra_body=request.extra_body,
        tools=request.tools,
        **request.params,
    )
    choice = completion.choices[0] if completion.choices else None
    if choice is not None:
        result.reasoning, result.text = split_text(
            choice.message.content or "", choice.message.reasoning_content or ""
        )
        result.finish_reason = choice.finish_reason
        result.tool_calls = tool_names(choice.message.tool_calls)
        result.calls = [call.to_dict() for call in choice.message.tool_calls or ()]
        if result.calls and request.on_tool_call is not None:
            request.on_tool_call()
    result.usage, result.assemble = completion.usage, lambda: completion
    if renderer is not None:
        _show(renderer, result.reasoning, result.text)


def tool_names(calls: Sequence[ChatCompletionMessageToolCall] | None) -> list[str]:
    """The function names of the server's tool calls."""
    return [call.function.name for call in calls or ()]


def refuse_tool_calls(finish_reason: str | None, names: list[str]) -> None:
    """Until tools are supported, an answer that is a tool call is an error (exit 4)."""
    if names or finish_reason in ("tool_calls", "function_call"):
        raise ToolCallError(list(dict.fromkeys(n for n in names if n)))


def _fail(result: TurnResult, exc: BaseException) -> None:
    from atdak_cli.client import IncompleteStreamError, StreamError

    if isinstance(exc, (KeyboardInterrupt, Terminated)):
        result.status = "interrupted"
    elif isinstance(exc, IncompleteStreamError):
        result.status = "incomplete"
    else:
        result.status = "error"
    partial = exc.partial if isinstance(exc, StreamError) else ""
    if not result.inline_reasoning and len(partial) > len(result.text):
        thought, result.text = split_text(partial)
        result.reasoning += thought
    result.error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
