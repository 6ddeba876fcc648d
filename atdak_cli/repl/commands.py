"""The slash commands of ``atdak chat``: one small function each, in a registry.

A command gets the :class:`~atdak_cli.repl.state.ChatState` and the text after its name, says
what it has to say on stderr, and returns what the loop does next (:data:`Action`). Nothing
here imports prompt_toolkit: commands work the same when a script pipes them into ``atdak chat``.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from atdak_cli import catalog
from atdak_cli.config import SAMPLING, with_flags
from atdak_cli.conversation import ChatMessage, Conversation
from atdak_cli.errors import AppError, UsageError, report
from atdak_cli.repl.state import ChatState
from atdak_cli.text import code_blocks

if TYPE_CHECKING:
    from atdak_cli.tools.mcp_client import McpServers


@dataclass(frozen=True)
class Send:
    """Send ``text`` as the next question."""

    text: str


@dataclass(frozen=True)
class Compare:
    """Ask the last question again of each of ``models`` (``/compare``)."""

    models: tuple[str, ...]


Action = Send | Compare | Literal["exit", "retry"] | None


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    run: Callable[[ChatState, str], Action]


COMMANDS: dict[str, Command] = {}
ALIASES: dict[str, str] = {"quit": "exit"}


def command(usage: str, summary: str) -> Callable[[Callable[[ChatState, str], Action]], Command]:
    """Register a slash command; ``usage`` starts with its name (``/model [NAME]``)."""

    def register(run: Callable[[ChatState, str], Action]) -> Command:
        name = usage.split()[0].removeprefix("/")
        COMMANDS[name] = Command(name, usage, summary, run)
        return COMMANDS[name]

    return register


def is_command(line: str) -> bool:
    return line.startswith("/") and not line.startswith("//")


def run_command(state: ChatState, line: str) -> Action:
    """Run a slash command line; an unknown one gets a hint and sends nothing."""
    name, _, arg = line[1:].partition(" ")
    name = ALIASES.get(name.lower(), name.lower())
    found = COMMANDS.get(name)
    if found is None:
        state.say(f"unknown command /{name} — /help lists them; start with // to send a '/'")
        return None
    try:
        return found.run(state, arg.strip())
    except AppError as exc:
        state.say(report(exc)[1])
        return None


def completions(text: str) -> list[str]:
    """What Tab offers for ``text``, the input before the cursor: command names after
    ``/``, model names after ``/model``, parameter names after ``/set``."""
    if not is_command(text):
        return []
    name, space, arg = text[1:].partition(" ")
    if not space:
        names = sorted([*COMMANDS, *ALIASES])
        return ["/" + n for n in names if n.startswith(name.lower())]
    if name == "model":
        return [m.id for m in catalog.CATALOG if m.id.startswith(arg)]
    if name == "compare":
        word = arg.rsplit(" ", 1)[-1]
        return [m.id for m in catalog.CATALOG if m.id.startswith(word)]
    if name == "set" and " " not in arg:
        return [n for n in SAMPLING if n.startswith(arg)]
    return []


# -- the commands, in the order /help lists them


@command("/help", "list the commands")
def _help(state: ChatState, arg: str) -> Action:
    width = max(len(c.usage) for c in COMMANDS.values())
    lines = [f"  {c.usage:<{width}}  {c.summary}" for c in COMMANDS.values()]
    keys = "Enter sends · Alt+Enter: new line · Ctrl-X Ctrl-E: $EDITOR · Ctrl-D: leave"
    state.say("\n".join([*lines, keys]))
    return None


@command("/model [NAME]", "show the model, or switch to NAME (Tab completes)")
def _model(state: ChatState, arg: str) -> Action:
    if arg:
        state.settings = with_flags(state.settings, model=arg)
    model = state.settings.model
    limit = catalog.context_length(model)
    known = f"{catalog.format_tokens(limit)} context" if limit else "not in the catalogue"
    state.say(f"model: {model} ({known})")
    return None


@command("/system [TEXT|-]", "show the system prompt, set it to TEXT, or remove it (-)")
def _system(state: ChatState, arg: str) -> Action:
    if arg:
        state.set_system(None if arg == "-" else arg)
    system = state.conversation.system
    state.say(f"system prompt: {system}" if system else "no system prompt")
    return None


@command("/role NAME [VAR=VALUE...]", "use a role from the config: its system prompt and options")
def _role(state: ChatState, arg: str) -> Action:
    from atdak_cli.roles import role_settings

    if not arg:
        raise UsageError("usage: /role NAME [VAR=VALUE...] (see `atdak roles list`)")
    name, *variables = shlex.split(arg)
    settings = state.settings
    values = role_settings(settings.raw_config, name, variables, settings.config_path)
    system = values.pop("system", None)
    known = {k: v for k, v in values.items() if k in ("model", *SAMPLING)}
    state.settings = with_flags(settings, role=name, **known)
    if isinstance(system, str):
        state.set_system(system)
    state.say(f"role {name}: " + ", ".join(f"{k} = {v}" for k, v in known.items()))
    return None


@command("/set [NAME VALUE]", "show or set a sampling parameter (temperature, top_p...)")
def _set(state: ChatState, arg: str) -> Action:
    if not arg:
        shown = [f"{n} = {getattr(state.settings, n)}" for n in SAMPLING]
        state.say("\n".join(shown))
        return None
    name, _, raw = arg.partition(" ")
    name = name.replace("-", "_")
    if name not in SAMPLING or not raw.strip():
        raise UsageError(f"usage: /set NAME VALUE, where NAME is one of {', '.join(SAMPLING)}")
    state.settings = with_flags(state.settings, **{name: _parse_value(name, raw.strip())})
    state.say(f"{name} = {getattr(state.settings, name)}")
    return None


def _parse_value(name: str, raw: str) -> float | int | None:
    if raw.lower() in ("default", "none", "off"):
        return None
    try:
        return int(raw) if name == "max_tokens" else float(raw)
    except ValueError:
        kind = "a whole number" if name == "max_tokens" else "a number"
        raise UsageError(f"{name.replace('_', '-')} must be {kind}, not {raw!r}") from None


@command("/tools [on|off NAME]", "list the tools offered, or turn one (or a server's) on or off")
def _tools(state: ChatState, arg: str) -> Action:
    if state.tools is None:
        state.say("no tools in this session: start it with -T NAME or --functions FILE")
        return None
    toolbox = state.tools.toolbox
    verb, _, name = arg.partition(" ")
    if verb in ("on", "off") and name.strip():
        switched = toolbox.switch(name.strip(), on=verb == "on")
        state.say(f"{', '.join(switched)}: {verb}")
        return None
    if arg:
        raise UsageError("usage: /tools, /tools on NAME, /tools off NAME")
    from atdak_cli.tools.untrusted import first_line

    for api_name, offered in toolbox.offered.items():
        mark = "off" if api_name in toolbox.disabled else "on "
        state.say(f"{mark} {offered.spec.qualified}  {first_line(offered.spec.description, 60)}")
    return None


def _servers(state: ChatState, name: str) -> McpServers:
    """The session's MCP servers, if ``name`` is one of them (-T NAME)."""
    if state.tools is None or name not in state.tools.toolbox.configs:
        offered = ", ".join(state.tools.toolbox.configs) if state.tools else "none (use -T NAME)"
        raise UsageError(f"no MCP server {name!r} in this session", hint=f"servers: {offered}")
    return state.tools.toolbox.servers


@command("/prompt SERVER.NAME [ARG=VALUE...]", "send an MCP server's prompt as the next message")
def _prompt(state: ChatState, arg: str) -> Action:
    words = shlex.split(arg)
    server, _, name = (words[0] if words else "").partition(".")
    if not name:
        raise UsageError("usage: /prompt SERVER.NAME [ARG=VALUE...]")
    arguments = dict(word.partition("=")[::2] for word in words[1:])
    servers = _servers(state, server)
    messages = servers.get_prompt(server, name, arguments)
    if not messages or messages[-1]["role"] != "user":
        raise UsageError(f"the prompt {server}.{name} does not end with a user message")
    for message in messages[:-1]:  # a prompt may set the scene with earlier turns
        if message["role"] in ("user", "assistant"):
            state.conversation.messages.append(ChatMessage.from_api(message))
    return Send(messages[-1]["content"])


@command("/resource SERVER URI", "attach an MCP server's resource to the next message")
def _resource(state: ChatState, arg: str) -> Action:
    server, _, uri = arg.strip().partition(" ")
    if not uri.strip():
        raise UsageError("usage: /resource SERVER URI")
    text = _servers(state, server).read_resource(server, uri.strip())
    state.attachments.append(f"Resource {uri.strip()} (MCP server {server}):\n\n{text}")
    size = catalog.format_tokens(catalog.estimate_tokens(text))
    state.say(f"attached {uri.strip()} (~{size} tokens) to the next message")
    return None


@command("/clear", "start a new conversation")
def _clear(state: ChatState, arg: str) -> Action:
    state.switch(None, Conversation(system=state.conversation.system))
    state.say("new conversation")
    return None


@command("/undo", "drop the last exchange")
def _undo(state: ChatState, arg: str) -> Action:
    if not state.conversation.undo():
        state.say("nothing to undo")
        return None
    recorder = state.recorder()
    if recorder is not None:
        recorder.undo()
    state.say("dropped the last exchange")
    return None


@command("/retry", "ask for the last answer again")
def _retry(state: ChatState, arg: str) -> Action:
    if not state.conversation.messages:
        state.say("nothing to retry yet")
        return None
    return "retry"


@command("/edit", "write the next message in $EDITOR")
def _edit(state: ChatState, arg: str) -> Action:
    from atdak_cli.repl.editor import edit_in_editor

    text = edit_in_editor(arg)
    if not text.strip():
        state.say("nothing to send: the editor returned an empty message")
        return None
    return Send(text.rstrip("\n"))


@command("/file PATH", "attach a file's contents to the next message")
def _file(state: ChatState, arg: str) -> Action:
    from atdak_cli.prompt_input import file_section

    if not arg or arg == "-":
        raise UsageError("usage: /file PATH")
    section = file_section(os.path.expanduser(arg), None)
    state.attachments.append(section)
    size = catalog.format_tokens(catalog.estimate_tokens(section))
    state.say(f"attached {arg} (~{size} tokens) to the next message")
    return None


@command("/save PATH", "write the conversation as Markdown")
def _save(state: ChatState, arg: str) -> Action:
    from atdak_cli.secrets import write_private

    if not arg:
        raise UsageError("usage: /save PATH")
    path = Path(arg).expanduser()
    try:
        write_private(path, state.conversation.to_markdown(model=state.settings.model))
    except OSError as exc:
        raise UsageError(f"cannot write {path} ({exc.strerror or exc})") from None
    state.say(f"saved {len(state.conversation.messages)} messages to {path}")
    return None


@command("/usage", "tokens used so far, and how full the context is")
def _usage(state: ChatState, arg: str) -> Action:
    usage = state.usage
    if usage.answers:
        total = usage.prompt + usage.completion
        spent = f"{usage.prompt} prompt + {usage.completion} completion = {total} tokens"
    else:
        spent = "no token counts from the server yet"
    limit = state.context_limit()
    share = f" ({state.conversation.context_tokens() / limit:.0%})" if limit else ""
    state.say(f"used: {spent}\ncontext: {state.context_use()}{share}")
    return None


@command("/reasoning [last]", "keep the thinking on screen or fold it (last: show the last)")
def _reasoning(state: ChatState, arg: str) -> Action:
    if arg == "last":
        state.say(state.last_reasoning or "the last answer came without thinking")
        return None
    if arg:
        raise UsageError("/reasoning takes nothing, or 'last'")
    state.show_reasoning = not state.show_reasoning
    if state.reasoning_view is not None:
        state.reasoning_view.show_all = state.show_reasoning
    shown = "kept on screen" if state.show_reasoning else "folded into one line"
    state.say(f"thinking is {shown} from the next answer")
    return None


@command("/compare MODEL…", "ask the last question again of several models, side by side")
def _compare(state: ChatState, arg: str) -> Action:
    models = tuple(arg.split())
    if not models:
        raise UsageError("/compare takes one or more models ([PROFILE:]MODEL)")
    return Compare(models)


@command("/keep N", "go on with answer N of the last /compare")
def _keep(state: ChatState, arg: str) -> Action:
    from atdak_cli.repl.compare import keep

    keep(state, arg)
    return None


@command("/copy [N]", "copy the last answer, or its N-th code block (OSC 52)")
def _copy(state: ChatState, arg: str) -> Action:
    from atdak_cli.repl.clipboard import copy_to_clipboard

    answer = state.conversation.last_answer()
    if answer is None or not answer.content:
        raise UsageError("no answer to copy yet")
    text = answer.content if not arg else _code_block(answer.content, arg)
    copy_to_clipboard(state.terminal.stdout, text)
    what = "the last answer" if not arg else f"code block {arg}"
    state.say(f"copied {what} ({len(text)} characters) to the clipboard")
    return None


def _code_block(markdown: str, arg: str) -> str:
    blocks = code_blocks(markdown)
    if not arg.isdigit() or not 1 <= int(arg) <= len(blocks):
        count = f"{len(blocks)} code block" + ("" if len(blocks) == 1 else "s")
        raise UsageError(f"no code block {arg}: the last answer has {count}")
    return blocks[int(arg) - 1].removesuffix("\n")


@command("/history", "recent conversations")
def _history(state: ChatState, arg: str) -> Action:
    from atdak_cli import paths
    from atdak_cli.commands import history

    path = state.history_path or paths.history_file()
    history.list_conversations(path, state.terminal, limit=10, as_json=False)
    return None


@command("/resume ID", "go on with a saved conversation")
def _resume(state: ChatState, arg: str) -> Action:
    from atdak_cli import paths
    from atdak_cli.history.recorder import load_context

    wanted = arg.removeprefix("#")
    if not wanted.isdigit():
        raise UsageError("usage: /resume ID (see /history)")
    path = state.history_path or paths.history_file()
    conversation_id, messages = load_context(path, int(wanted))
    conversation = Conversation.from_api(messages)
    kept_id = conversation_id if state.history_path is not None else None
    state.switch(kept_id, conversation)
    state.say(f"resumed #{conversation_id} ({len(conversation.messages)} messages)")
    return None


@command("/exit", "leave (also /quit, Ctrl-D)")
def _exit(state: ChatState, arg: str) -> Action:
    return "exit"
