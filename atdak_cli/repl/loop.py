"""``atdak chat``: read a line, dispatch it (a question or a slash command), again.

On a terminal the prompt is :mod:`~atdak_cli.repl.prompt`'s; with stdin from a file or a pipe
every line is a turn and answers are printed plain. The session itself is
:mod:`~atdak_cli.repl.state`, the slash commands :mod:`~atdak_cli.repl.commands`.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from atdak_cli import paths
from atdak_cli.conversation import Conversation
from atdak_cli.errors import ExitStatus, UsageError
from atdak_cli.repl.commands import Action, Compare, Send, is_command, run_command
from atdak_cli.repl.state import ChatState, send
from atdak_cli.warmup import Warmup

if TYPE_CHECKING:
    from atdak_cli.client import AtdakClient
    from atdak_cli.config import Flags, Settings
    from atdak_cli.render import Renderer, RenderMode
    from atdak_cli.terminal import Terminal
    from atdak_cli.tools.setup import ToolOptions

Connect = Callable[["Settings"], contextlib.AbstractContextManager["AtdakClient"]]


@dataclass(frozen=True)
class ChatOptions:
    files: tuple[str, ...] = ()
    continue_last: bool = False
    resume: int | None = None
    show_reasoning: bool = False
    tools: ToolOptions | None = None


def start(flags: Flags, options: ChatOptions) -> int:
    """``atdak chat``: check what would stop the client before the prompt; it comes later."""
    from atdak_cli.connect import check_client, open_client
    from atdak_cli.terminal import open_terminal

    settings = flags.settings()
    terminal = open_terminal(settings.color)

    def connect(current: Settings) -> contextlib.AbstractContextManager[AtdakClient]:
        return open_client(
            current, api_key_flag=flags.api_key, terminal=terminal, debug=flags.debug
        )

    check_client(settings, api_key_flag=flags.api_key)
    return run_chat(settings, terminal, connect, options)


def run_chat(
    settings: Settings,
    terminal: Terminal,
    connect: Connect,
    options: ChatOptions,
) -> int:
    """Run the session; returns the exit status (0 after Ctrl-D or /exit)."""
    state = initial_state(settings, terminal, options)
    state.connect = connect
    with contextlib.ExitStack() as stack:
        if options.tools is not None and options.tools.wanted:
            from atdak_cli.tools.setup import open_session

            state.tools = stack.enter_context(
                open_session(
                    options.tools,
                    config=settings.raw_config,
                    config_path=settings.config_path,
                    terminal=terminal,
                )  # fmt: skip
            )
        # Made on first use, or after the prompt is drawn: httpx costs ~50 ms that the prompt
        # need not wait for. What would stop it (no key) was raised before, by check_client.
        client = Warmup(lambda: stack.enter_context(connect(settings)), name="atdak-client")
        try:
            if terminal.stdin_isatty and terminal.stdout_isatty:
                return _interactive(state, client)
            return _scripted(state, client)
        finally:
            client.wait()  # a client made on a thread is closed by this stack, after it
            state.close()


def initial_state(settings: Settings, terminal: Terminal, options: ChatOptions) -> ChatState:
    """Read the files and the stored conversation before anything is shown or sent."""
    from atdak_cli.prompt_input import file_section

    if "-" in options.files:
        raise UsageError("chat reads its questions from stdin; -f - cannot be used here")
    attachments = [file_section(name, None) for name in options.files]
    conversation_id, conversation = None, Conversation(system=settings.system)
    if options.continue_last or options.resume is not None:
        from atdak_cli.history.recorder import load_context

        conversation_id, messages = load_context(paths.history_file(), options.resume)
        conversation = Conversation.from_api(messages, system=settings.system)
    history = paths.history_file() if settings.history else None
    state = ChatState(settings, terminal, conversation, history, conversation_id)
    state.attachments.extend(attachments)
    state.show_reasoning = options.show_reasoning
    return state


# -- the two loops


def _interactive(state: ChatState, client: Warmup[AtdakClient]) -> int:
    from atdak_cli.render import LazyRenderer, choose_mode
    from atdak_cli.repl.prompt import make_session, warm_up_after_first_draw

    # A person is at the keyboard: Ctrl-C must stop an answer even when atdak was started
    # with SIGINT ignored (a background job of a script inherits SIG_IGN).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    session = make_session(state)
    mode = choose_mode(state.terminal, _render(state))
    lazy = LazyRenderer(state.terminal, mode)
    renderer = _with_thinking(state, lazy, markdown=mode == "markdown")
    warm_up_after_first_draw(session, lazy.pending, client)
    state.say(_welcome(state))
    while True:
        try:
            text = session.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            return ExitStatus.OK
        try:
            if perform(state, client.result, renderer, text) == "exit":
                return ExitStatus.OK
        except KeyboardInterrupt:
            state.say("[interrupted: the partial answer is kept; /retry asks again]")
        state.terminal.stdout.write("\n")


def _scripted(state: ChatState, client: Warmup[AtdakClient]) -> int:
    """Each line of stdin a turn (or a slash command); the first failure is the exit status."""
    from atdak_cli.render import make_renderer

    mode = _render(state) or "plain"
    renderer = _with_thinking(state, make_renderer(state.terminal, mode), markdown=False)
    status = 0
    for line in _lines(state.terminal.stdin):
        outcome = perform(state, client.result, renderer, line)
        if outcome == "exit":
            break
        status = status or (outcome if isinstance(outcome, int) else 0)
    return status


def _with_thinking(state: ChatState, renderer: Renderer, *, markdown: bool) -> Renderer:
    """The thinking dimmed and folded on a terminal (``/reasoning`` unfolds it)."""
    from atdak_cli.render.thinking import route_reasoning

    router = route_reasoning(
        renderer, state.terminal, markdown=markdown, show_all=state.show_reasoning
    )
    state.reasoning_view = router.view
    return router


def _lines(stream: Iterable[str]) -> Iterable[str]:
    for line in stream:
        yield line.rstrip("\r\n")


def _render(state: ChatState) -> RenderMode | None:
    return cast("RenderMode | None", state.settings.render)  # config checked its value


def _welcome(state: ChatState) -> str:
    line = f"atdak chat · {state.settings.model} · /help lists commands · Ctrl-D leaves"
    if state.conversation_id is not None:
        count = len(state.conversation.messages)
        line += f"\ncontinuing #{state.conversation_id} ({count} messages)"
    return line


# -- one line of input


def perform(
    state: ChatState, client: Callable[[], AtdakClient], renderer: Renderer, text: str
) -> int | str | None:
    """Act on one line: ``"exit"``, or the turn's exit status, or None (nothing sent)."""
    action = _action_for(state, text)
    if action == "exit":
        return "exit"
    if action == "retry":
        return send(state, client, renderer, None)
    if isinstance(action, Send):
        return send(state, client, renderer, action.text)
    if isinstance(action, Compare) and state.connect is not None:
        from atdak_cli.repl.compare import compare_last_question

        return compare_last_question(state, list(action.models), state.connect)
    return None


def _action_for(state: ChatState, text: str) -> Action:
    if not text.strip():
        return None
    if is_command(text.strip()):
        return run_command(state, text.strip())
    return Send(text[1:] if text.startswith("//") else text)
