"""The command line: parse, build Settings and Terminal, call one function per command.

Nothing imports this module. Heavy modules are imported inside the commands that use them.
"""

from __future__ import annotations

import copy
import io
import os
import signal
import sys
from typing import Annotated, Any, NoReturn

import typer
import typer.core

from atdak_cli import __version__
from atdak_cli.errors import ExitStatus, Terminated, one_line, status_for

EXIT_CODES = """\
\b
Exit codes:
  0 answer delivered          6 server error
  1 internal error (a bug)    7 network
  2 usage or bad local input  8 timeout (also HTTP 408)
  3 authentication            9 unusable answer
  4 request rejected         10 answer delivered, history not saved
  5 rate limited or quota   130 Ctrl-C · 143 SIGTERM · 141 stdout closed"""

app = typer.Typer(
    name="atdak",
    help="Chat with the atdak API (or any OpenAI-compatible server) from your terminal.",
    epilog=EXIT_CODES,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)
config_app = typer.Typer(
    help="Show where the configuration lives and what it says.", no_args_is_help=True
)
app.add_typer(config_app, name="config")
completion_app = typer.Typer(help="Shell completion for bash, zsh and fish.", no_args_is_help=True)
app.add_typer(completion_app, name="completion")
history_app = typer.Typer(
    help="Browse, search and export saved conversations.", no_args_is_help=True
)
app.add_typer(history_app, name="history")

# Options shared by commands, declared once so every command spells them alike.
ModelOpt = Annotated[str | None, typer.Option("-m", "--model", metavar="MODEL", help="Model name.")]
ModelsOpt = Annotated[
    list[str] | None,
    typer.Option(
        "-m",
        "--model",
        metavar="MODEL",
        help="Model; repeat to compare ([PROFILE:]MODEL).",
    ),
]
SystemOpt = Annotated[
    str | None, typer.Option("-s", "--system", metavar="TEXT", help="System prompt.")
]
TempOpt = Annotated[
    float | None,
    typer.Option("-t", "--temperature", metavar="T", help="Sampling temperature, 0-2."),
]
MaxTokensOpt = Annotated[
    int | None, typer.Option("--max-tokens", metavar="N", help="Most tokens to generate (>= 1).")
]
TopPOpt = Annotated[
    float | None, typer.Option("--top-p", metavar="P", help="Nucleus sampling, 0-1.")
]
FreqOpt = Annotated[
    float | None,
    typer.Option("--frequency-penalty", metavar="F", help="Frequency penalty, -2 to 2."),
]
PresOpt = Annotated[
    float | None, typer.Option("--presence-penalty", metavar="F", help="Presence penalty, -2 to 2.")
]
ProfileOpt = Annotated[
    str | None, typer.Option("--profile", metavar="NAME", help="Config profile to use.")
]
BaseUrlOpt = Annotated[str | None, typer.Option("--base-url", metavar="URL", help="API base URL.")]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option("--api-key", metavar="KEY", help="API key; prefer `atdak login`."),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option("--timeout", metavar="SECONDS", help="Deadline of one request, in seconds."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON object.")]
DebugOpt = Annotated[
    bool, typer.Option("--debug", help="Show HTTP traffic (key masked) and tracebacks.")
]
InsecureOpt = Annotated[
    bool,
    typer.Option("--allow-insecure-http", help="Allow sending the key over plain http."),
]
RenderOpt = Annotated[
    str | None,
    typer.Option("--render", metavar="MODE", help="markdown or plain (default: by terminal)."),
]
ColorOpt = Annotated[
    str | None, typer.Option("--color", metavar="WHEN", help="auto, always or never.")
]
ModelPathOpt = Annotated[
    str | None,
    typer.Option("--model-path", metavar="FILE", help="Run a local GGUF file (implies -m local)."),
]
RoleOpt = Annotated[
    str | None, typer.Option("--role", metavar="NAME", help="Named role from the config.")
]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", metavar="NAME=VALUE", help="Fill a role's {placeholder}: name=value."),
]
EffortOpt = Annotated[
    str | None,
    typer.Option(
        "--reasoning-effort", metavar="LEVEL", help="low, medium or high: how hard to think."
    ),
]
ShowReasoningOpt = Annotated[
    bool, typer.Option("--show-reasoning", help="Keep the thinking on screen, not one line.")
]
ReasoningToOpt = Annotated[
    str | None,
    typer.Option(
        "--reasoning-to", metavar="FILE", help="Also write the thinking to FILE or stderr."
    ),
]
MaxCostOpt = Annotated[
    float | None,
    typer.Option("--max-cost", metavar="USD", help="Refuse or stop a request over this cost."),
]
NoHistoryOpt = Annotated[
    bool, typer.Option("--no-history", help="Do not save this exchange in the history.")
]


def examples(*lines: str) -> str:
    """An --help epilog; ``\\b`` keeps click from re-wrapping the lines into one."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


OPTION_SECTIONS: dict[str, tuple[str, ...]] = {
    "Input": ("file", "messages", "continue_last", "conversation", "resume", "role", "var",
              "batch", "concurrency", "output"),
    "Model and sampling": ("model", "model_path", "system", "temperature", "max_tokens",
                           "top_p", "frequency_penalty", "presence_penalty",
                           "reasoning_effort", "max_cost"),
    "Output": ("stream", "json_out", "usage", "extract", "extract_last", "render", "color",
               "show_reasoning", "reasoning_to", "no_history"),
    "Connection": ("profile", "base_url", "api_key", "timeout", "allow_insecure_http", "debug"),
}  # fmt: skip
_SECTION_OF = {name: title for title, names in OPTION_SECTIONS.items() for name in names}


class GroupedCommand(typer.core.TyperCommand):
    """--help with the options in sections (typer's rich_help_panel needs rich markup, which
    we keep off); one column width for every section, so that they line up."""

    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                sections.setdefault(_section(param), []).append(record)
        width = max(len(term) for rows in sections.values() for term, _ in rows)
        for title in ("Arguments", *OPTION_SECTIONS, "Other options"):
            if title in sections:
                with formatter.section(title):
                    formatter.write_dl([(t.ljust(width), h) for t, h in sections[title]])


def _section(param: Any) -> str:
    if param.param_type_name == "argument":
        return "Arguments"
    return _SECTION_OF.get(param.name or "", "Other options")


def _version(value: bool) -> None:
    if value:
        print(f"atdak {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show version."),
    ] = False,
) -> None:
    """Chat with the atdak API (or any OpenAI-compatible server) from your terminal."""


COMPLETE_EXAMPLES = """Examples:

\b
  atdak complete "Write a haiku about spring"
  git diff | atdak complete "Write a commit message for this diff"
  atdak complete -f notes.md -f todo.txt -m atdak-gpt-4-mini "Summarise these"
  atdak complete --json "hi" | jq .usage
  atdak complete -m atdak-gpt-4 -m work:atdak-claude-3 'Which is faster?'"""


# How build_messages joins a prompt: the one wording of it, in --help and the README (a test
# checks both, and that the request follows it).
PROMPT_ORDER = "stdin (when piped), then each --file, then the arguments"
COMPLETE_HELP = f"Ask one question and print the answer.\n\nThe prompt is {PROMPT_ORDER}, joined."


@app.command(cls=GroupedCommand, epilog=COMPLETE_EXAMPLES, help=COMPLETE_HELP)
def complete(
    prompt: Annotated[list[str] | None, typer.Argument(help="The prompt (joined).")] = None,
    file: Annotated[
        list[str] | None,
        typer.Option("-f", "--file", metavar="FILE", help="Add a file's text (- = stdin)."),
    ] = None,
    messages: Annotated[
        str | None,
        typer.Option("--messages", metavar="FILE", help="JSON array of {role, content} to send."),
    ] = None,
    continue_last: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the latest conversation.")
    ] = False,
    conversation: Annotated[
        int | None, typer.Option("--conversation", metavar="ID", help="Continue conversation ID.")
    ] = None,
    role: RoleOpt = None,
    var: VarOpt = None,
    model: ModelsOpt = None,
    model_path: ModelPathOpt = None,
    system: SystemOpt = None,
    temperature: TempOpt = None,
    max_tokens: MaxTokensOpt = None,
    top_p: TopPOpt = None,
    frequency_penalty: FreqOpt = None,
    presence_penalty: PresOpt = None,
    reasoning_effort: EffortOpt = None,
    max_cost: MaxCostOpt = None,
    stream: Annotated[
        bool | None, typer.Option("--stream/--no-stream", help="Stream the answer.")
    ] = None,
    json_out: JsonOpt = False,
    usage: Annotated[bool, typer.Option("--usage", help="Print token usage on stderr.")] = False,
    show_reasoning: ShowReasoningOpt = False,
    reasoning_to: ReasoningToOpt = None,
    extract: Annotated[
        bool, typer.Option("-x", "--extract", help="Print only the first fenced code block.")
    ] = False,
    extract_last: Annotated[
        bool, typer.Option("--extract-last", help="Print only the last fenced code block.")
    ] = False,
    batch: Annotated[
        str | None,
        typer.Option("--batch", metavar="FILE", help="Run every request of a JSONL file."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", metavar="N", help="Batch requests in flight at once.")
    ] = 4,
    output: Annotated[
        str | None,
        typer.Option("-o", "--output", metavar="FILE", help="Batch results file (JSONL)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Batch: skip lines already done in --output.")
    ] = False,
    render: RenderOpt = None,
    color: ColorOpt = None,
    no_history: NoHistoryOpt = False,
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    timeout: TimeoutOpt = None,
    allow_insecure_http: InsecureOpt = False,
    debug: DebugOpt = False,
) -> None:
    from atdak_cli.oneshot import OutputOptions, apply_request_options, prepare
    from atdak_cli.oneshot import complete as run
    from atdak_cli.prompt_input import PromptParts
    from atdak_cli.render.thinking import reasoning_sink
    from atdak_cli.session import open_client

    models = list(model or ())
    given = {**locals(), "model": models[0] if models else None}
    settings = _settings(given)
    terminal = _terminal(settings.color)
    _check_batch_options(batch, locals())
    if batch is not None:
        _run_batch(settings, terminal, batch, concurrency, output, resume, api_key, debug)
    parts = PromptParts(prompt or (), file or (), settings.system, messages)
    conversation_id, context = _context(continue_last, conversation)
    request = prepare(settings, parts, terminal, context=context)
    if len(models) > 1:
        raise typer.Exit(_compare(models, given, list(request.messages), terminal, api_key, debug))
    if usage and request.stream:
        request.extra_body["stream_options"] = {"include_usage": True}
    apply_request_options(request, settings)
    which = "last" if extract_last else "first" if extract else None
    with (
        reasoning_sink(reasoning_to, terminal) as sink,
        open_client(settings, api_key_flag=api_key, terminal=terminal, debug=debug) as client,
        _recorder(settings, conversation_id) as recorder,
    ):
        options = OutputOptions(
            json=json_out,
            usage=usage,
            render=settings.render,
            extract=which,  # type: ignore[arg-type]
            show_reasoning=show_reasoning,
            reasoning_to=sink,
        )
        raise typer.Exit(run(client, request, terminal, options, settings, recorder=recorder))


def _compare(
    models: list[str],
    flags: dict[str, Any],
    messages: list[dict[str, str]],
    terminal: Any,
    api_key: str | None,
    debug: bool,
) -> int:
    """``complete -m A -m B``: the same messages to each ``[PROFILE:]MODEL``."""
    from atdak_cli.compare import Target, run_comparison, split_target
    from atdak_cli.session import open_client

    base = _settings(flags)
    profiles = base.raw_config.get("profiles", {})
    targets = []
    for label in models:
        profile, model = split_target(label, profiles if isinstance(profiles, dict) else {})
        given = {**flags, "model": model, "profile": profile or flags.get("profile")}
        targets.append(Target(label, _settings(given)))

    def connect(settings: Any) -> Any:
        return open_client(settings, api_key_flag=api_key, terminal=terminal, debug=debug)

    _, status = run_comparison(
        targets, messages, terminal, open_client=connect, as_json=bool(flags.get("json_out"))
    )
    return status


CHAT_EXAMPLES = """Examples:

\b
  atdak chat
  atdak chat -m atdak-claude-3 -s "You are a terse reviewer" -f main.py
  atdak chat --continue
  atdak chat < questions.txt"""


@app.command(cls=GroupedCommand, epilog=CHAT_EXAMPLES)
def chat(
    file: Annotated[
        list[str] | None,
        typer.Option("-f", "--file", metavar="FILE", help="Attach a file to the first message."),
    ] = None,
    continue_last: Annotated[
        bool, typer.Option("-c", "--continue", help="Continue the latest conversation.")
    ] = False,
    resume: Annotated[
        int | None, typer.Option("--resume", metavar="ID", help="Resume conversation ID.")
    ] = None,
    role: RoleOpt = None,
    var: VarOpt = None,
    model: ModelOpt = None,
    model_path: ModelPathOpt = None,
    system: SystemOpt = None,
    temperature: TempOpt = None,
    max_tokens: MaxTokensOpt = None,
    top_p: TopPOpt = None,
    frequency_penalty: FreqOpt = None,
    presence_penalty: PresOpt = None,
    render: RenderOpt = None,
    color: ColorOpt = None,
    no_history: NoHistoryOpt = False,
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    timeout: TimeoutOpt = None,
    allow_insecure_http: InsecureOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Talk with a model in an interactive session.

    Ctrl-D or /exit leaves; /help lists the slash commands."""
    from atdak_cli.repl import ChatOptions, run_chat
    from atdak_cli.session import check_client, open_client

    settings = _settings(locals())
    terminal = _terminal(settings.color)
    options = ChatOptions(files=tuple(file or ()), continue_last=continue_last, resume=resume)

    def connect(current: Any) -> Any:
        return open_client(current, api_key_flag=api_key, terminal=terminal, debug=debug)

    check_client(settings, api_key_flag=api_key)  # before the prompt; the client comes later
    raise typer.Exit(run_chat(settings, terminal, connect, options))


@app.command(epilog=examples("atdak models", "atdak models --json | jq '.[].id'"))
def models(
    json_out: JsonOpt = False,
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    timeout: TimeoutOpt = None,
    allow_insecure_http: InsecureOpt = False,
    debug: DebugOpt = False,
) -> None:
    """List the models the server offers, with their context lengths."""
    from atdak_cli.models_list import list_models, print_models

    settings = _settings(locals())
    terminal = _terminal(settings.color)
    found = list_models(settings, terminal, api_key_flag=api_key, debug=debug)
    print_models(found, terminal, as_json=json_out)


@app.command(
    epilog=examples("atdak login", "atdak login --profile work", "pass show atdak | atdak login")
)
def login(profile: ProfileOpt = None) -> None:
    """Store an API key (mode 0600).

    The key is read hidden from the terminal, or from stdin."""
    from atdak_cli import paths
    from atdak_cli.secrets import read_key_input, store_key

    terminal = _terminal("auto")
    key = read_key_input(terminal)
    path = paths.keys_file()
    store_key(path, profile, key)
    terminal.notice(f"atdak: key saved to {path}")


@app.command(epilog=examples("atdak logout", "atdak logout --profile work"))
def logout(profile: ProfileOpt = None) -> None:
    """Remove the stored API key."""
    from atdak_cli import paths
    from atdak_cli.secrets import remove_key

    path = paths.keys_file()
    removed = remove_key(path, profile)
    _terminal("auto").notice(
        f"atdak: key removed from {path}" if removed else "atdak: no stored key to remove"
    )


@config_app.command("path")
def config_path() -> None:
    """Print the path of the config file."""
    from atdak_cli import paths

    print(paths.config_file())


@config_app.command(
    "show", epilog=examples("atdak config show", "atdak config show --profile work")
)
def config_show(profile: ProfileOpt = None) -> None:
    """Print the settings in effect and where the key comes from (masked)."""
    from atdak_cli.settings_report import show_settings

    settings = _settings({"profile": profile})
    show_settings(settings, _terminal(settings.color))


LimitOpt = Annotated[int, typer.Option("-n", "--limit", metavar="N", help="How many to show.")]
IdArg = Annotated[int | None, typer.Argument(help="Conversation ID (default: the latest).")]


@history_app.command(
    "list", epilog=examples("atdak history list", "atdak history list -n 5 --json")
)
def history_list(limit: LimitOpt = 20, json_out: JsonOpt = False) -> None:
    """Recent conversations, newest first."""
    from atdak_cli import history_view, paths

    history_view.list_conversations(
        paths.history_file(), _terminal(None), limit=limit, as_json=json_out
    )


@history_app.command("show", epilog=examples("atdak history show", "atdak history show 42 --json"))
def history_show(conversation_id: IdArg = None, json_out: JsonOpt = False) -> None:
    """Print a conversation (rendered, or Markdown in a pipe)."""
    from atdak_cli import history_view, paths

    history_view.show_conversation(
        paths.history_file(), _terminal(None), conversation_id, as_json=json_out
    )


@history_app.command(
    "search",
    epilog=examples(
        "atdak history search sqlite migration", "atdak history search -n 50 --json haiku"
    ),
)
def history_search(
    query: Annotated[list[str], typer.Argument(help="Words to find.")],
    limit: LimitOpt = 20,
    json_out: JsonOpt = False,
) -> None:
    """Full-text search over every saved message."""
    from atdak_cli import history_view, paths

    history_view.search(
        paths.history_file(), _terminal(None), " ".join(query), limit=limit, as_json=json_out
    )


@history_app.command("delete", epilog=examples("atdak history delete 42"))
def history_delete(conversation_id: Annotated[int, typer.Argument(help="ID.")]) -> None:
    """Delete a conversation and its messages."""
    from atdak_cli import history_view, paths

    history_view.delete(paths.history_file(), _terminal(None), conversation_id)


@history_app.command(
    "export",
    epilog=examples(
        "atdak history export 42 --format markdown > chat.md", "atdak history export > all.jsonl"
    ),
)
def history_export(
    conversation_id: Annotated[
        int | None, typer.Argument(help="Conversation ID (default: all, one per line).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="FORMAT", help="markdown or json.")
    ] = "json",
) -> None:
    """Export one conversation, or all of them (JSON Lines)."""
    from atdak_cli import history_view, paths

    history_view.export(paths.history_file(), _terminal(None), conversation_id, fmt=fmt)


ShellArg = Annotated[str | None, typer.Argument(help="bash, zsh or fish (default: from $SHELL).")]


@completion_app.command(
    "show",
    epilog=examples('eval "$(atdak completion show bash)"', "atdak completion show fish | source"),
)
def completion_show(shell: ShellArg = None) -> None:
    """Print the completion script (e.g. `eval "$(atdak completion show bash)"`)."""
    from atdak_cli import shell_completion

    sys.stdout.write(shell_completion.script(shell_completion.resolve_shell(shell)))


@completion_app.command(
    "install", epilog=examples("atdak completion install", "atdak completion install zsh")
)
def completion_install(shell: ShellArg = None) -> None:
    """Install the completion script where the shell finds it."""
    from atdak_cli import shell_completion

    path = shell_completion.install(shell_completion.resolve_shell(shell))
    _terminal(None).notice(f"atdak: installed {path}; open a new shell to use it")


_ONE_SHOT_ONLY = {
    "prompt": "a prompt", "file": "-f", "messages": "--messages", "continue_last": "-c",
    "conversation": "--conversation", "json_out": "--json", "usage": "--usage",
    "extract": "-x", "extract_last": "--extract-last",
}  # fmt: skip
_BATCH_ONLY = {"output": "-o", "resume": "--resume"}


def _check_batch_options(batch: str | None, given: dict[str, Any]) -> None:
    """Options that mean nothing in the mode chosen are refused, never silently ignored."""
    from atdak_cli.errors import UsageError

    wrong = _ONE_SHOT_ONLY if batch is not None else _BATCH_ONLY
    misplaced = [flag for name, flag in wrong.items() if given.get(name)]
    if batch is None and given.get("concurrency") != 4:
        misplaced.append("--concurrency")
    if misplaced:
        where = "with --batch" if batch is not None else "without --batch"
        raise UsageError(f"{', '.join(misplaced)} cannot be used {where}")


def _run_batch(
    settings: Any,
    terminal: Any,
    path: str,
    concurrency: int,
    output: str | None,
    resume: bool,
    api_key: str | None,
    debug: bool,
) -> NoReturn:
    from atdak_cli.batch import BatchOptions, run_batch
    from atdak_cli.session import open_client

    options = BatchOptions(path=path, concurrency=concurrency, output=output, resume=resume)
    with open_client(settings, api_key_flag=api_key, terminal=terminal, debug=debug) as client:
        raise typer.Exit(run_batch(client, settings, terminal, options))


@app.command(
    epilog=examples(
        "atdak doctor", "atdak doctor --profile work --base-url http://localhost:8080/v1"
    )
)
def doctor(
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    timeout: TimeoutOpt = None,
    allow_insecure_http: InsecureOpt = False,
) -> None:
    """Check config, key, server and history, and say what to fix."""
    from atdak_cli.doctor import run_doctor

    raise typer.Exit(run_doctor(dict(locals()), _terminal(None)))


@app.command("usage", epilog=examples("atdak usage", "atdak usage --json | jq ."))
def usage_report(json_out: JsonOpt = False) -> None:
    """Tokens used (and their cost) by day and model.

    The cost needs a price table in the config."""
    from atdak_cli import paths
    from atdak_cli.usage import print_usage_report

    settings = _settings({})
    print_usage_report(paths.history_file(), settings, _terminal(None), as_json=json_out)


roles_app = typer.Typer(help="Named system prompts with default parameters.", no_args_is_help=True)
app.add_typer(roles_app, name="roles")


@roles_app.command("list")
def roles_list() -> None:
    """The roles defined in the config."""
    from atdak_cli.roles import list_roles

    list_roles(_settings({}), _terminal(None))


@roles_app.command("show", epilog=examples("atdak roles show reviewer"))
def roles_show(name: Annotated[str, typer.Argument(help="Role name.")]) -> None:
    """A role's system prompt and parameters."""
    from atdak_cli.roles import show_role

    show_role(_settings({}), name, _terminal(None))


def _context(continue_last: bool, conversation: int | None) -> tuple[int | None, Any]:
    if not continue_last and conversation is None:
        return None, None
    from atdak_cli import paths
    from atdak_cli.recording import load_context

    return load_context(paths.history_file(), conversation)


def _recorder(settings: Any, conversation_id: int | None) -> Any:
    """The history recorder, or a stand-in that records nothing (``--no-history``)."""
    from contextlib import nullcontext

    if not settings.history:
        return nullcontext(None)
    from atdak_cli import paths
    from atdak_cli.recording import HistoryRecorder

    return HistoryRecorder(
        paths.history_file(),
        conversation_id=conversation_id,
        profile=settings.profile,
        base_url=settings.base_url,
    )


def _settings(flags: dict[str, Any]) -> Any:
    from atdak_cli.config import load_settings

    names = {
        "model", "system", "temperature", "max_tokens", "top_p", "frequency_penalty",
        "presence_penalty", "stream", "render", "color", "profile", "base_url", "timeout",
        "allow_insecure_http", "no_history", "role", "var", "model_path", "reasoning_effort",
        "max_cost",
    }  # fmt: skip
    given = {k: v for k, v in flags.items() if k in names and v is not None}
    if not flags.get("allow_insecure_http"):
        given.pop("allow_insecure_http", None)
    if given.pop("no_history", False):
        given["history"] = False
    return load_settings(given)


def _terminal(color: str | None) -> Any:
    from atdak_cli.terminal import Terminal

    return Terminal.from_process(color=color or "auto")  # type: ignore[arg-type]


def _on_sigterm(signum: int, frame: object) -> NoReturn:
    raise Terminated()


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run a command and exit with its documented status."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args or bool(os.environ.get("ATDAK_DEBUG"))
    signal.signal(signal.SIGTERM, _on_sigterm)
    _sane_streams()
    try:
        status = _run(args, debug=debug)
    except BrokenPipeError:  # the reader left while we were reporting
        status = ExitStatus.PIPE
    _exit(status)


def _run(args: list[str], *, debug: bool) -> int:
    try:
        return _invoke(args)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return ExitStatus.SIGINT
    except typer.TyperException as exc:
        return _usage_error(exc)
    except BaseException as exc:  # noqa: BLE001 - the one handler of the program
        return _report(exc, debug=debug)


def _invoke(args: list[str]) -> int:
    """Run the command without click's own handling, which would swallow exit codes,
    turn Ctrl-C into a quiet 130 and a closed pipe into 1: ours is the one handler."""
    command = typer.main.get_command(_only_what_runs(args))
    with command.make_context("atdak", list(args)) as ctx:
        command.invoke(ctx)
    return 0


def _only_what_runs(args: list[str]) -> typer.Typer:
    """The app with only the command (or group) named first in ``args``, when there is one:
    building the click commands of every parameter of every command costs ~7 ms a start."""
    name = args[0] if args else ""
    commands = [c for c in app.registered_commands if _command_name(c) == name]
    groups = [g for g in app.registered_groups if g.name == name]
    if not commands and not groups:
        return app  # help, --version, a typo: all the commands are wanted
    lean = copy.copy(app)
    lean.registered_commands, lean.registered_groups = commands, groups
    return lean


def _command_name(info: typer.models.CommandInfo) -> str:
    callback = info.callback
    return info.name or typer.main.get_command_name(callback.__name__ if callback else "")


def _usage_error(exc: Any) -> int:
    if type(exc).__name__ == "NoArgsIsHelpError":
        print(exc.ctx.get_help())
        return 0
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    usage = f" — see `{ctx.command_path} --help`" if ctx is not None else ""
    # click quotes what it refuses: a key typed as an argument (`atdak login sk-...`) or
    # given to the wrong option must not be printed back.
    sys.stderr.write(_redact(f"atdak: error: {' '.join(message.split())}{usage}") + "\n")
    return int(getattr(exc, "exit_code", ExitStatus.USAGE) or ExitStatus.USAGE)


def _report(exc: BaseException, *, debug: bool) -> int:
    if isinstance(exc, SystemExit):
        return int(exc.code or 0) if isinstance(exc.code, int) else 1
    status = status_for(exc)
    if status == ExitStatus.PIPE:
        return status
    if debug:
        import traceback

        sys.stderr.write(_redact("".join(traceback.format_exception(exc))))
    if status in (ExitStatus.SIGINT, ExitStatus.SIGTERM):
        sys.stderr.write("\natdak: interrupted\n")
        return status
    line = one_line(exc)
    if status == ExitStatus.INTERNAL and not debug:
        line += " (a bug: please report it; rerun with --debug for details)"
    sys.stderr.write(_redact(line) + "\n")
    return status


def _redact(text: str) -> str:
    """The keys in use masked, then any word that looks like a key (one typed by mistake)."""
    from atdak_cli.client._redact import redact_key, redact_key_shaped
    from atdak_cli.secrets import redact_known

    return redact_key_shaped(redact_known(redact_key(text, os.environ.get("ATDAK_API_KEY"))))


def _sane_streams() -> None:
    """A closed stdout (``>&-``) becomes a broken pipe on first write, like a reader that left;
    a terminal that cannot show a character shows '?' instead of failing (LC_ALL=C)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            setattr(sys, name, _ClosedStream())
        elif (getattr(stream, "encoding", "utf-8") or "").lower().replace("-", "") != "utf8":
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="replace")


class _ClosedStream(io.TextIOBase):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "standard output is closed")


def _exit(status: int) -> NoReturn:
    if isinstance(sys.stdout, _ClosedStream):
        sys.exit(status)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError, OSError):
        status = status or ExitStatus.PIPE
        # Python would complain about the failed flush again at shutdown.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    sys.exit(status)
