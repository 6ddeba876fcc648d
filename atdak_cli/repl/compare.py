"""``/compare MODEL…`` re-asks the last question of several models side by side, and
``/keep N`` makes one of their answers the conversation's next message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from atdak_cli.compare import Target, last_question, run_comparison, split_target
from atdak_cli.config import Flags, with_flags
from atdak_cli.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable

    from atdak_cli.client import AtdakClient
    from atdak_cli.config import Settings
    from atdak_cli.repl.state import ChatState

    Connect = Callable[[Settings], contextlib.AbstractContextManager[AtdakClient]]


def compare_last_question(state: ChatState, labels: list[str], connect: Connect) -> int:
    """Ask the conversation up to its last question of each ``[PROFILE:]MODEL`` at once."""
    messages = last_question(state.conversation.api_messages())
    if not messages:
        state.say("nothing to compare yet: ask a question first")
        return ExitStatus.USAGE
    targets = [Target(label, _settings_for(state.settings, label)) for label in labels]
    outcomes, status = run_comparison(
        targets, messages, state.terminal, open_client=connect, numbered=True
    )
    state.comparison = outcomes
    state.say(f"/keep 1…{len(outcomes)} goes on with that answer")
    return status


def _settings_for(settings: Settings, label: str) -> Settings:
    """The chat's settings with another model; a profile's own settings for ``PROFILE:``."""
    profiles = settings.raw_config.get("profiles", {})
    profile, model = split_target(label, profiles if isinstance(profiles, dict) else {})
    if profile is not None:
        return Flags(profile=profile, model=model).settings()
    return with_flags(settings, model=model)


def keep(state: ChatState, arg: str) -> None:
    """``/keep N``: answer N of the last ``/compare`` replaces the answer to the question."""
    outcomes = state.comparison or []
    if not outcomes:
        raise UsageError("no comparison to keep an answer from", hint="/compare MODEL MODEL")
    if not arg.isdigit() or not 1 <= int(arg) <= len(outcomes):
        raise UsageError(f"/keep takes a number from 1 to {len(outcomes)}")
    chosen = outcomes[int(arg) - 1]
    if not chosen.result.text or chosen.request is None:
        raise UsageError(f"answer {arg} ({chosen.label}) is empty: keep another")
    state.conversation.prepare_retry()
    state.conversation.add_answer(chosen.result.text, chosen.result.status)
    state.last_reasoning = chosen.result.reasoning
    state.usage.add(chosen.result.usage)
    recorder = state.recorder()
    if recorder is not None:
        recorder.question(chosen.request, resend=state.conversation_id is not None)
        recorder.answer(chosen.request, chosen.result)
        state.after_turn()
    state.comparison = None
    state.say(f"kept answer {arg} ({chosen.label}): the conversation goes on from it")
