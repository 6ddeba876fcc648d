"""``atdak chat``: a prompt, a turn, again. Slash commands live in :mod:`repl_commands`.

On a terminal the prompt is prompt_toolkit's (imported only then: it costs ~85 ms and pulls in
asyncio); with stdin from a file or a pipe every line is a turn and answers are printed plain.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from atdak_cli import catalog, paths
from atdak_cli.conversation import Conversation
from atdak_cli.errors import ExitStatus, UsageError, one_line, status_for
from atdak_cli.repl_commands import Action, ChatState, Send, completions, is_command, run_command
from atdak_cli.turn import TurnRequest, TurnResult, run_turn

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.output import Output

    from atdak_cli.client import AtdakClient
    from atdak_cli.config import Settings
    from atdak_cli.render import Renderer
    from atdak_cli.terminal import Terminal

PROMPT = "> "
CONTINUATION = ". "


@dataclass(frozen=True)
class ChatOptions:
    files: tuple[str, ...] = ()
    continue_last: bool = False
    resume: int | None = None


def run_chat(
    settings: Settings,
    terminal: Terminal,
    connect: Callable[[Settings], contextlib.AbstractContextManager[AtdakClient]],
    options: ChatOptions,
) -> int:
    """Run the session; returns the exit status (0 after Ctrl-D or /exit)."""
    state = initial_state(settings, terminal, options)
    with _LazyClient(connect, settings) as lazy:
        client = cast("AtdakClient", lazy)
        try:
            if terminal.stdin_isatty and terminal.stdout_isatty:
                return _interactive(state, client, lazy)
            return _scripted(state, client)
        finally:
            state.close()


def initial_state(settings: Settings, terminal: Terminal, options: ChatOptions) -> ChatState:
    """Read the files and the stored conversation before anything is shown or sent."""
    from atdak_cli.prompt_input import file_section

    if "-" in options.files:
        raise UsageError("chat reads its questions from stdin; -f - cannot be used here")
    attachments = [file_section(name, None) for name in options.files]
    conversation_id, conversation = None, Conversation(system=settings.system)
    if options.continue_last or options.resume is not None:
        from atdak_cli.recording import load_context

        conversation_id, messages = load_context(paths.history_file(), options.resume)
        conversation = Conversation.from_api(messages, system=settings.system)
    history = paths.history_file() if settings.history else None
    state = ChatState(settings, terminal, conversation, history, conversation_id)
    state.attachments.extend(attachments)
    return state


# -- the two loops


def _interactive(state: ChatState, client: AtdakClient, lazy: _LazyClient) -> int:
    from atdak_cli.render import LazyRenderer, choose_mode

    # A person is at the keyboard: Ctrl-C must stop an answer even when atdak was started
    # with SIGINT ignored (a background job of a script inherits SIG_IGN).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    session = make_session(state)
    mode = choose_mode(state.terminal, _render(state))
    renderer = LazyRenderer(state.terminal, mode)
    _warm_up_after_first_draw(session, renderer.get, lazy.get)
    state.say(_welcome(state))
    while True:
        try:
            text = session.prompt()
        except KeyboardInterrupt:
            continue  # Ctrl-C at the prompt clears the line
        except EOFError:
            return ExitStatus.OK
        try:
            if perform(state, client, renderer, text) == "exit":
                return ExitStatus.OK
        except KeyboardInterrupt:
            state.say("[interrupted: the partial answer is kept; /retry asks again]")
        state.terminal.stdout.write("\n")


def _scripted(state: ChatState, client: AtdakClient) -> int:
    """Each line of stdin a turn (or a slash command); the first failure is the exit status."""
    from atdak_cli.render import make_renderer

    renderer = make_renderer(state.terminal, _render(state) or "plain")
    status = 0
    for line in _lines(state.terminal.stdin):
        outcome = perform(state, client, renderer, line)
        if outcome == "exit":
            break
        status = status or (outcome if isinstance(outcome, int) else 0)
    return status


def _lines(stream: Iterable[str]) -> Iterable[str]:
    for line in stream:
        yield line.rstrip("\r\n")


def _render(state: ChatState) -> Any:
    return state.settings.render


def _welcome(state: ChatState) -> str:
    line = f"atdak chat · {state.settings.model} · /help lists commands · Ctrl-D leaves"
    if state.conversation_id is not None:
        count = len(state.conversation.messages)
        line += f"\ncontinuing #{state.conversation_id} ({count} messages)"
    return line


# -- one line of input


def perform(
    state: ChatState, client: AtdakClient, renderer: Renderer, text: str
) -> int | str | None:
    """Act on one line: ``"exit"``, or the turn's exit status, or None (nothing sent)."""
    action = _action_for(state, text)
    if action == "exit":
        return "exit"
    if action == "retry":
        return send(state, client, renderer, None)
    if isinstance(action, Send):
        return send(state, client, renderer, action.text)
    return None


def _action_for(state: ChatState, text: str) -> Action:
    if not text.strip():
        return None
    if is_command(text.strip()):
        return run_command(state, text.strip())
    return Send(text[1:] if text.startswith("//") else text)


def send(state: ChatState, client: AtdakClient, renderer: Renderer, text: str | None) -> int:
    """Ask ``text`` (None: the last question again) and show the answer; the exit status.

    KeyboardInterrupt propagates once the partial answer is in the conversation.
    """
    if not _add_question(state, text) or not _fit(state):
        return ExitStatus.USAGE
    request = _request(state)
    capture = _Capture(state.recorder(), resend=text is None)
    try:
        with state.terminal.typed_keys_unechoed():
            run_turn(client, request, renderer=renderer, recorder=capture)
    except Exception as exc:
        state.say(_redacted(one_line(exc)))
        return status_for(exc)
    finally:
        _after_turn(state, capture.result)
    return _history_status(state)


def _add_question(state: ChatState, text: str | None) -> bool:
    conversation = state.conversation
    if text is None:
        conversation.prepare_retry()
        if not conversation.messages or conversation.messages[-1].role != "user":
            state.say("nothing to retry yet")
            return False
        return True
    conversation.add_user("\n\n".join([*state.attachments, text]))
    state.attachments.clear()
    return True


def _fit(state: ChatState) -> bool:
    """Drop the oldest exchanges if the request would not fit in the model's context."""
    limit = state.context_limit()
    if limit is None:
        return True
    model = state.settings.model
    dropped = state.conversation.fit(limit - (state.settings.max_tokens or 0))
    if dropped:
        noun = "exchange" if dropped == 1 else "exchanges"
        state.say(f"dropped the {dropped} oldest {noun} to fit {model}'s context")
    if state.conversation.estimated_tokens() <= limit:
        return True
    size = catalog.format_tokens(state.conversation.estimated_tokens())
    state.conversation.undo()
    state.say(
        f"atdak: error: the message is too long for {model} (~{size} tokens against "
        f"{catalog.format_tokens(limit)}) — nothing sent; Up recalls it"
    )
    return False


def _request(state: ChatState) -> TurnRequest:
    settings = state.settings
    # Token counts for /usage; OpenAI-compatible servers accept stream_options.
    extra = {"stream_options": {"include_usage": True}} if settings.stream else {}
    return TurnRequest(
        model=settings.model,
        messages=state.conversation.api_messages(),
        params=settings.sampling(),
        stream=settings.stream,
        extra_body=extra,
    )


def _after_turn(state: ChatState, result: TurnResult | None) -> None:
    if result is not None:
        state.conversation.add_answer(result.text, result.status)
        state.usage.add(result.usage)
        if result.usage is not None and result.status == "complete":
            state.conversation.measured_tokens = result.usage.total_tokens
        if result.finish_reason == "length":
            state.say("[the answer was cut off at the token limit: /set max_tokens N]")
    state.after_turn()


def _history_status(state: ChatState) -> int:
    recorder = state.recorder()
    if recorder is None or recorder.failure is None:
        return ExitStatus.OK
    if not state.history_failure_shown:
        state.say(one_line(recorder.failure))
        state.history_failure_shown = True
    return ExitStatus.HISTORY


def _redacted(text: str) -> str:
    from atdak_cli.secrets import redact_known

    return redact_known(text)


def _warm_up_after_first_draw(session: PromptSession[str], *builds: Callable[[], object]) -> None:
    """Build what the first answer needs in the background, once the prompt is on the screen
    (a failure is left for the first answer to meet again, and report)."""

    def build_all() -> None:
        for build in builds:
            with contextlib.suppress(Exception):
                build()

    def warm_up(_: object) -> None:
        session.app.after_render -= warm_up
        threading.Thread(target=build_all, name="atdak-warm-up", daemon=True).start()

    session.app.after_render += warm_up


class _LazyClient:
    """The API client, made on first use: httpx costs ~50 ms that the prompt need not wait
    for. What would stop it (no key) was raised before the prompt, by
    ``session.check_client``. Attributes are the client's."""

    def __init__(
        self,
        connect: Callable[[Settings], contextlib.AbstractContextManager[AtdakClient]],
        settings: Settings,
    ) -> None:
        self._connect, self._settings = connect, settings
        self._client: AtdakClient | None = None
        self._stack = contextlib.ExitStack()
        self._lock = threading.Lock()

    def get(self) -> AtdakClient:
        with self._lock:
            if self._client is None:
                self._client = self._stack.enter_context(self._connect(self._settings))
            return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)

    def __enter__(self) -> _LazyClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._stack.close()


class _Capture:
    """A turn recorder that keeps the result (however the turn ended) and passes it on."""

    def __init__(self, inner: Any, *, resend: bool) -> None:
        self._inner = inner
        self._resend = resend
        self.result: TurnResult | None = None

    def question(self, request: TurnRequest) -> None:
        if self._inner is not None:
            self._inner.question(request, resend=self._resend)

    def answer(self, request: TurnRequest, result: TurnResult) -> None:
        self.result = result
        if self._inner is not None:
            self._inner.answer(request, result)


# -- the prompt (prompt_toolkit is imported from here on only)


def make_session(
    state: ChatState, *, input: Input | None = None, output: Output | None = None
) -> PromptSession[str]:
    """The prompt: Enter sends, Alt+Enter (Esc Enter) adds a line, Up/Down walk the history
    kept in the data dir, Tab completes commands, Ctrl-X Ctrl-E opens $EDITOR."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.auto_suggest import AutoSuggestFromHistory

    return PromptSession(
        PROMPT,
        history=_input_history(),
        auto_suggest=AutoSuggestFromHistory(),
        completer=_completer(),
        complete_while_typing=True,
        key_bindings=_key_bindings(),
        bottom_toolbar=lambda: " " + state.toolbar(),
        prompt_continuation=CONTINUATION,
        enable_open_in_editor=True,
        multiline=False,
        input=input,
        output=output,
    )


def _input_history() -> Any:
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    path = paths.input_history_file()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created 0600 before prompt_toolkit appends to it: typed text can be secret.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    except OSError:
        return InMemoryHistory()
    return FileHistory(str(path))


def _key_bindings() -> KeyBindings:
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    bindings = KeyBindings()

    # Terminals send Alt+Enter as ESC CR (some ESC LF), the same keys as Esc then Enter.
    @bindings.add("escape", "enter")
    @bindings.add("escape", "c-j")
    def _newline(event: KeyPressEvent) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


def _completer() -> Completer:
    from prompt_toolkit.completion import Completer, Completion, PathCompleter
    from prompt_toolkit.document import Document

    paths_completer = PathCompleter(expanduser=True)

    class SlashCompleter(Completer):
        def get_completions(self, document: Document, complete_event: Any) -> Any:
            before = document.text_before_cursor
            if before.startswith(("/file ", "/save ")):
                arg = Document(before.partition(" ")[2])
                yield from paths_completer.get_completions(arg, complete_event)
                return
            word = before.rsplit(" ", 1)[-1]
            for option in completions(before):
                yield Completion(option, start_position=-len(word))

    return SlashCompleter()
