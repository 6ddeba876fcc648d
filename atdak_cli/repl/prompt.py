"""The chat's prompt: prompt_toolkit's, and the only module that imports it (it costs ~85 ms
and pulls in asyncio; a chat whose stdin is a pipe never needs it)."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING, Any

from atdak_cli import paths
from atdak_cli.repl.commands import completions
from atdak_cli.warmup import Warmup

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import Completer
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.output import Output

    from atdak_cli.repl.state import ChatState

PROMPT = "> "
CONTINUATION = ". "


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


def warm_up_after_first_draw(session: PromptSession[str], *builds: Warmup[object]) -> None:
    """Build what the first answer needs on one thread, once the prompt is on the screen
    (a failure is left for the first answer to meet, and report)."""

    def build_all() -> None:
        for build in builds:
            with contextlib.suppress(Exception):
                build.result()

    def warm_up(_: object) -> None:
        session.app.after_render -= warm_up
        Warmup(build_all, name="atdak-warm-up").start()

    session.app.after_render += warm_up
