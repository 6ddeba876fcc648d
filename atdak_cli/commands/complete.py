"""``atdak complete``: one question, one answer, made for shells and scripts."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Literal, cast

from atdak_cli import catalog
from atdak_cli.errors import ExitStatus, UnusableAnswerError, UsageError, report
from atdak_cli.prompt_input import InputTooLongError, PromptParts, build_messages
from atdak_cli.turn import ApiMessage, TurnRequest, TurnResult, run_turn, with_usage

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient
    from atdak_cli.config import Flags, Settings
    from atdak_cli.history.recorder import HistoryRecorder
    from atdak_cli.render import Renderer, RenderMode
    from atdak_cli.terminal import Terminal
    from atdak_cli.tools.loop import ToolSession
    from atdak_cli.tools.setup import ToolOptions

FINISH_WARNINGS = {
    "length": "the answer was cut off at the token limit (raise --max-tokens)",
    "content_filter": "the answer was cut off by the provider's content filter",
}


@dataclass(frozen=True)
class CompleteOptions:
    """What ``atdak complete`` was given beyond the settings."""

    prompt: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    messages: str | None = None
    continue_last: bool = False
    conversation: int | None = None
    json: bool = False
    usage: bool = False
    extract: Literal["first", "last"] | None = None
    tools: ToolOptions | None = None
    show_reasoning: bool = False
    reasoning_to: str | None = None  # a file, or "stderr"


@dataclass(frozen=True)
class OutputOptions:
    json: bool = False
    usage: bool = False
    render: RenderMode | None = None
    extract: Literal["first", "last"] | None = None
    show_reasoning: bool = False
    reasoning_to: IO[str] | None = None


def run(flags: Flags, options: CompleteOptions) -> int:
    """``atdak complete``: read the input, ask, print; the exit status."""
    from atdak_cli.connect import open_client
    from atdak_cli.render.thinking import reasoning_sink
    from atdak_cli.terminal import open_terminal

    settings = flags.settings()
    terminal = open_terminal(settings.color)
    parts = PromptParts(options.prompt, options.files, settings.system, options.messages)
    conversation_id, context = _context(options)
    request = prepare(settings, parts, terminal, context=context)
    if flags.models:
        if options.extract is not None:
            raise UsageError("-x/--extract takes one answer, not a comparison", hint="drop a -m")
        if options.tools is not None and options.tools.wanted:
            raise UsageError(
                "tools (-T/--functions) take one model, not a comparison", hint="drop a -m"
            )
        return _compare(flags, list(request.messages), terminal, as_json=options.json)
    if options.usage:
        with_usage(request)
    from atdak_cli.budget import apply_request_options

    apply_request_options(request, settings)
    with (
        reasoning_sink(options.reasoning_to, terminal) as sink,
        open_client(
            settings, api_key_flag=flags.api_key, terminal=terminal, debug=flags.debug
        ) as client,
        _recorder(settings, conversation_id) as recorder,
    ):
        output = OutputOptions(
            json=options.json,
            usage=options.usage,
            render=cast("RenderMode | None", settings.render),  # config checked its value
            extract=options.extract,
            show_reasoning=options.show_reasoning,
            reasoning_to=sink,
        )
        if options.tools is None or not options.tools.wanted:
            return complete(client, request, terminal, output, settings, recorder=recorder)
        from atdak_cli.tools.setup import open_session

        with open_session(
            options.tools, config=settings.raw_config, config_path=settings.config_path,
            terminal=terminal,
        ) as session:  # fmt: skip
            return complete(
                client, request, terminal, output, settings, recorder=recorder, tools=session
            )


def _compare(flags: Flags, messages: list[ApiMessage], terminal: Terminal, *, as_json: bool) -> int:
    """``complete -m A -m B``: the same messages to each ``[PROFILE:]MODEL`` at once."""
    from atdak_cli.compare import Target, run_comparison, split_target
    from atdak_cli.connect import open_client

    profiles = flags.settings().raw_config.get("profiles", {})
    targets = []
    for label in flags.models:
        profile, model = split_target(label, profiles if isinstance(profiles, dict) else {})
        one = replace(flags, model=model, profile=profile or flags.profile, models=())
        targets.append(Target(label, one.settings()))

    def connect(settings: Settings) -> AbstractContextManager[AtdakClient]:
        return open_client(
            settings, api_key_flag=flags.api_key, terminal=terminal, debug=flags.debug
        )

    return run_comparison(targets, messages, terminal, open_client=connect, as_json=as_json)[1]


def _context(options: CompleteOptions) -> tuple[int | None, list[ApiMessage] | None]:
    if not options.continue_last and options.conversation is None:
        return None, None
    from atdak_cli import paths
    from atdak_cli.history.recorder import load_context

    return load_context(paths.history_file(), options.conversation)


def _recorder(
    settings: Settings, conversation_id: int | None
) -> AbstractContextManager[HistoryRecorder | None]:
    """The history recorder, or a stand-in that records nothing (``--no-history``)."""
    if not settings.history:
        return nullcontext(None)
    from atdak_cli import paths
    from atdak_cli.history.recorder import HistoryRecorder

    return HistoryRecorder(
        paths.history_file(),
        conversation_id=conversation_id,
        profile=settings.profile,
        base_url=settings.base_url,
    )


def prepare(
    settings: Settings,
    parts: PromptParts,
    terminal: Terminal,
    *,
    context: list[dict[str, str]] | None = None,
) -> TurnRequest:
    """Read every input and check it before anything is sent. ``context`` holds the
    messages of a continued conversation."""
    stdin = None if terminal.stdin_isatty else terminal.stdin
    if context and any(m["role"] == "system" for m in context):
        parts = replace(parts, system=None)
    budget = catalog.max_input_bytes(settings.model)
    try:
        given = build_messages(parts, stdin=stdin, max_bytes=budget)
    except InputTooLongError as exc:
        raise _too_long(settings.model, f"{exc.name} alone is over {exc.max_bytes} bytes") from None
    messages = (context or []) + given
    check_context(settings.model, messages)
    return TurnRequest(
        model=settings.model, messages=messages, params=settings.sampling(), stream=settings.stream
    )


def check_context(model: str, messages: list[dict[str, str]]) -> None:
    """Refuse locally what the model could never read (a lower-bound estimate)."""
    limit = catalog.context_length(model)
    if limit is None:
        return
    estimate = sum(catalog.estimate_tokens(m.get("content") or "") for m in messages)
    if estimate > limit:
        raise _too_long(model, f"at least {catalog.format_tokens(estimate)} tokens")


def _too_long(model: str, size: str) -> UsageError:
    limit = catalog.format_tokens(catalog.context_length(model))
    return UsageError(
        f"the input is too long for {model}: {size} against a context of {limit} tokens",
        hint="send less, or pick a model with a longer context (atdak models)",
    )


def complete(
    client: AtdakClient,
    request: TurnRequest,
    terminal: Terminal,
    options: OutputOptions,
    settings: Settings,
    *,
    recorder: HistoryRecorder | None = None,
    tools: ToolSession | None = None,
) -> ExitStatus:
    """Run the exchange and print it; returns the exit status."""
    quiet = options.json or options.extract is not None
    runs: list[dict[str, object]] = []
    if tools is None:
        renderer = None if quiet else _renderer(terminal, options)
        with terminal.typed_keys_unechoed():
            result = run_turn(client, request, renderer=renderer, recorder=recorder)
    else:
        result, runs = _with_tools(client, request, terminal, options, recorder, tools)
    if quiet and options.reasoning_to is not None and result.reasoning:
        options.reasoning_to.write(result.reasoning.rstrip("\n") + "\n")
    show_notes(request, result, terminal, settings=settings, show_usage=options.usage)
    if options.json and result.completion is not None:
        document = result.completion.to_dict()
        if tools is not None:
            document["tool_runs"] = runs  # every call of the chain and its result
        terminal.stdout.write(json.dumps(document, ensure_ascii=False, indent=2))
        terminal.stdout.write("\n")
    elif options.extract is not None:
        terminal.stdout.write(extract_block(result.text, options.extract))
    terminal.stdout.flush()
    if recorder is not None and recorder.failure is not None:
        terminal.notice(report(recorder.failure)[1])
        return ExitStatus.HISTORY
    return ExitStatus.OK


def _with_tools(
    client: AtdakClient,
    request: TurnRequest,
    terminal: Terminal,
    options: OutputOptions,
    recorder: HistoryRecorder | None,
    session: ToolSession,
) -> tuple[TurnResult, list[dict[str, object]]]:
    """The call loop. On a terminal each request's text streams, calls between; into a pipe
    only the final answer is written (the text before a call is not the answer)."""
    from atdak_cli.tools.turns import run_tool_turns, tool_runs

    runs = tool_runs(session)
    quiet = options.json or options.extract is not None
    final_only = not quiet and not terminal.stdout_isatty
    streamed = quiet or final_only
    result, _ = run_tool_turns(
        client,
        request,
        session,
        renderer=lambda: None if streamed else _renderer(terminal, options),
        recorder=recorder,
    )
    if final_only:
        renderer = _renderer(terminal, options)
        renderer.start()
        if result.reasoning:
            renderer.feed_reasoning(result.reasoning)  # kept off stdout; copied to a sink
        renderer.feed(result.text)
        renderer.finish()
    return result, list(runs())


def _renderer(terminal: Terminal, options: OutputOptions) -> Renderer:
    from atdak_cli.render import LazyRenderer, choose_mode, make_renderer
    from atdak_cli.render.thinking import route_reasoning

    mode = choose_mode(terminal, options.render)
    if mode == "plain":
        inner: Renderer = make_renderer(terminal, mode)
    else:
        inner = lazy = LazyRenderer(terminal, mode)
        lazy.prepare()  # while the question is saved and sent, and the model thinks
    return route_reasoning(
        inner,
        terminal,
        markdown=mode == "markdown",
        show_all=options.show_reasoning,
        sink=options.reasoning_to,
    )


def show_notes(
    request: TurnRequest,
    result: TurnResult,
    terminal: Terminal,
    *,
    settings: Settings,
    show_usage: bool,
) -> None:
    """Warnings and usage, on stderr."""
    warning = FINISH_WARNINGS.get(result.finish_reason or "")
    if warning:
        terminal.notice(f"atdak: warning: {warning}")
    if show_usage:
        from atdak_cli.usage import usage_line

        terminal.notice(usage_line(request, result, settings))


def extract_block(text: str, which: Literal["first", "last"]) -> str:
    """The chosen fenced code block, raw; exit 9 when the answer has none."""
    from atdak_cli.text import code_blocks

    blocks = code_blocks(text)
    if not blocks:
        raise UnusableAnswerError(
            "the answer has no fenced code block to extract",
            hint="ask for the answer in a code block, or drop -x",
        )
    return blocks[0] if which == "first" else blocks[-1]
