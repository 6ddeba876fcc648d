"""The command line: typer declarations only. Each command gathers its options into a typed
object and calls one function below it; the process around it is :mod:`atdak_cli.launch`.

Nothing imports this module but the entry point. Heavy modules are imported by the functions
the commands call.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from atdak_cli import __version__
from atdak_cli.config import Flags
from atdak_cli.options import (
    ApiKeyOpt,
    ApproveToolsOpt,
    BaseUrlOpt,
    ChainLimitOpt,
    ContinueOpt,
    FunctionsOpt,
    GroupedCommand,
    InsecureOpt,
    JsonOpt,
    ProfileOpt,
    ReasoningToOpt,
    ShowReasoningOpt,
    TimeoutOpt,
    ToolsOpt,
    connection_options,
    examples,
    model_options,
    option,
    output_options,
    thinking_options,
    tool_options,
    with_flags,
)

EXIT_CODES = """\
\b
Exit codes:
  0 answer delivered          6 server error
  1 internal error (a bug)    7 network
  2 usage or bad local input  8 timeout (also HTTP 408)
  3 authentication            9 unusable answer
  4 request rejected         10 answer delivered, history not saved
  5 rate limit/quota/budget  11 tool call not approved (no terminal)
130 Ctrl-C · 143 SIGTERM · 141 stdout closed"""

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


def group(name: str, help: str) -> typer.Typer:
    sub = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(sub, name=name)
    return sub


config_app = group("config", "Show where the configuration lives and what it says.")
completion_app = group("completion", "Shell completion for bash, zsh and fish.")
history_app = group("history", "Browse, search and export saved conversations.")
roles_app = group("roles", "Named system prompts with default parameters.")
mcp_app = group("mcp", "MCP servers whose tools -T offers to the model.")


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


# How build_messages joins a prompt: the one wording of it, in --help and the README (a test
# checks both, and that the request follows it).
PROMPT_ORDER = "stdin (when piped), then each --file, then the arguments"
COMPLETE_HELP = f"Ask one question and print the answer.\n\nThe prompt is {PROMPT_ORDER}, joined."
COMPLETE_EXAMPLES = examples(
    'atdak complete "Write a haiku about spring"',
    'git diff | atdak complete "Write a commit message for this diff"',
    'atdak complete -f notes.md -f todo.txt -m atdak-gpt-4-mini "Summarise these"',
    'atdak complete --json "hi" | jq .usage',
    'atdak complete -m atdak-gpt-4 -m work:atdak-claude-3 "Which is faster?"',
)


@app.command(cls=GroupedCommand, epilog=COMPLETE_EXAMPLES, help=COMPLETE_HELP)
@with_flags(model_options, thinking_options, output_options, connection_options)
def complete(
    flags: Flags,
    prompt: Annotated[list[str] | None, typer.Argument(help="The prompt (joined).")] = None,
    file: Annotated[
        list[str] | None,
        option("-f", "--file", metavar="FILE", help="Add a file's text (- = stdin)."),
    ] = None,
    messages: Annotated[
        str | None,
        option("--messages", metavar="FILE", help="JSON array of {role, content} to send."),
    ] = None,
    continue_last: ContinueOpt = False,
    conversation: Annotated[
        int | None, option("--conversation", metavar="ID", help="Continue conversation ID.")
    ] = None,
    stream: Annotated[
        bool | None, typer.Option("--stream/--no-stream", help="Stream the answer.")
    ] = None,
    json_out: JsonOpt = False,
    usage: Annotated[bool, option("--usage", help="Print token usage on stderr.")] = False,
    extract: Annotated[
        bool, option("-x", "--extract", help="Print only the first fenced code block.")
    ] = False,
    extract_last: Annotated[
        bool, option("--extract-last", help="Print only the last fenced code block.")
    ] = False,
    tools: ToolsOpt = None,
    functions: FunctionsOpt = None,
    approve_tools: ApproveToolsOpt = False,
    chain_limit: ChainLimitOpt = 5,
    show_reasoning: ShowReasoningOpt = False,
    reasoning_to: ReasoningToOpt = None,
) -> int:
    from atdak_cli.commands.complete import CompleteOptions, run

    which: Literal["first", "last"] | None = (
        "last" if extract_last else "first" if extract else None
    )
    return run(flags, CompleteOptions(
        prompt=tuple(prompt or ()), files=tuple(file or ()), messages=messages,
        continue_last=continue_last, conversation=conversation, json=json_out, usage=usage,
        extract=which, show_reasoning=show_reasoning, reasoning_to=reasoning_to,
        tools=tool_options(tools, functions, approve_tools, chain_limit),
    ))  # fmt: skip


@app.command(
    "batch",
    cls=GroupedCommand,
    epilog=examples(
        "atdak batch requests.jsonl -o results.jsonl --concurrency 8",
        "atdak batch requests.jsonl -o results.jsonl --resume",
    ),
)
@with_flags(model_options, connection_options)
def batch_command(
    flags: Flags,
    batch: Annotated[str, typer.Argument(metavar="FILE", help="JSONL requests (- = stdin).")],
    concurrency: Annotated[
        int, option("--concurrency", metavar="N", help="Requests in flight at once.")
    ] = 4,
    output: Annotated[
        str | None, option("-o", "--output", metavar="FILE", help="Results file (JSONL).")
    ] = None,
    resume: Annotated[
        bool, option("--resume", help="Skip lines already done in --output.")
    ] = False,
) -> int:
    """Run every request of a JSONL file, a few at a time.

    One result line per request, in input order."""
    from atdak_cli.commands.batch import BatchOptions, run

    return run(flags.one_model("batch"), BatchOptions(batch, concurrency, output, resume))


CHAT_EXAMPLES = examples(
    "atdak chat",
    'atdak chat -m atdak-claude-3 -s "You are a terse reviewer" -f main.py',
    "atdak chat --continue",
    "atdak chat < questions.txt",
)


@app.command(cls=GroupedCommand, epilog=CHAT_EXAMPLES)
@with_flags(model_options, thinking_options, output_options, connection_options)
def chat(
    flags: Flags,
    file: Annotated[
        list[str] | None,
        option("-f", "--file", metavar="FILE", help="Attach a file to the first message."),
    ] = None,
    continue_last: ContinueOpt = False,
    resume: Annotated[
        int | None, option("--resume", metavar="ID", help="Resume conversation ID.")
    ] = None,
    tools: ToolsOpt = None,
    functions: FunctionsOpt = None,
    approve_tools: ApproveToolsOpt = False,
    chain_limit: ChainLimitOpt = 5,
    show_reasoning: ShowReasoningOpt = False,
) -> int:
    """Talk with a model in an interactive session.

    Ctrl-D or /exit leaves; /help lists the slash commands."""
    from atdak_cli.repl.loop import ChatOptions, start

    tool_opts = tool_options(tools, functions, approve_tools, chain_limit)
    options = ChatOptions(tuple(file or ()), continue_last, resume, show_reasoning, tool_opts)
    return start(flags.one_model("chat"), options)


@app.command(epilog=examples("atdak models", "atdak models --json | jq '.[].id'"))
@with_flags(connection_options)
def models(flags: Flags, json_out: JsonOpt = False) -> int:
    """List the models the server offers, with their context lengths."""
    from atdak_cli.commands.models import run

    return run(flags, as_json=json_out)


@app.command(
    epilog=examples("atdak login", "atdak login --profile work", "pass show atdak | atdak login")
)
def login(profile: ProfileOpt = None) -> None:
    """Store an API key (mode 0600).

    The key is read hidden from the terminal, or from stdin."""
    from atdak_cli.commands.login import login as run

    run(profile)


@app.command(epilog=examples("atdak logout", "atdak logout --profile work"))
def logout(profile: ProfileOpt = None) -> None:
    """Remove the stored API key."""
    from atdak_cli.commands.login import logout as run

    run(profile)


@config_app.command("path")
def config_path() -> None:
    """Print the path of the config file."""
    from atdak_cli.commands.config import show_path

    show_path()


@config_app.command(
    "show", epilog=examples("atdak config show", "atdak config show --profile work")
)
def config_show(profile: ProfileOpt = None) -> None:
    """Print the settings in effect and where the key comes from (masked)."""
    from atdak_cli.commands.config import show_settings

    show_settings(Flags(profile=profile))


LimitOpt = Annotated[int, option("-n", "--limit", metavar="N", help="How many to show.")]
IdArg = Annotated[int | None, typer.Argument(help="Conversation ID (default: the latest).")]


@history_app.command(
    "list", epilog=examples("atdak history list", "atdak history list -n 5 --json")
)
def history_list(limit: LimitOpt = 20, json_out: JsonOpt = False) -> None:
    """Recent conversations, newest first."""
    from atdak_cli.commands import history

    history.list_conversations(*history.where(), limit=limit, as_json=json_out)


@history_app.command("show", epilog=examples("atdak history show", "atdak history show 42 --json"))
def history_show(conversation_id: IdArg = None, json_out: JsonOpt = False) -> None:
    """Print a conversation (rendered, or Markdown in a pipe)."""
    from atdak_cli.commands import history

    history.show_conversation(*history.where(), conversation_id, as_json=json_out)


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
    from atdak_cli.commands import history

    history.search(*history.where(), " ".join(query), limit=limit, as_json=json_out)


@history_app.command("delete", epilog=examples("atdak history delete 42"))
def history_delete(conversation_id: Annotated[int, typer.Argument(help="ID.")]) -> None:
    """Delete a conversation and its messages."""
    from atdak_cli.commands import history

    history.delete(*history.where(), conversation_id)


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
    fmt: Annotated[str, option("--format", metavar="FORMAT", help="markdown or json.")] = "json",
) -> None:
    """Export one conversation, or all of them (JSON Lines)."""
    from atdak_cli.commands import history

    history.export(*history.where(), conversation_id, fmt=fmt)


ShellArg = Annotated[str | None, typer.Argument(help="bash, zsh or fish (default: from $SHELL).")]


@completion_app.command(
    "show",
    epilog=examples('eval "$(atdak completion show bash)"', "atdak completion show fish | source"),
)
def completion_show(shell: ShellArg = None) -> None:
    """Print the completion script (e.g. `eval "$(atdak completion show bash)"`)."""
    from atdak_cli.commands.completion import show

    show(shell)


@completion_app.command(
    "install", epilog=examples("atdak completion install", "atdak completion install zsh")
)
def completion_install(shell: ShellArg = None) -> None:
    """Install the completion script where the shell finds it."""
    from atdak_cli.commands.completion import install_for

    install_for(shell)


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
    from atdak_cli.commands.doctor import run

    flags = Flags(profile=profile, base_url=base_url, api_key=api_key, timeout=timeout,
                  allow_insecure_http=allow_insecure_http)  # fmt: skip
    raise typer.Exit(run(flags))


@app.command("usage", epilog=examples("atdak usage", "atdak usage --json | jq ."))
def usage_report(json_out: JsonOpt = False) -> None:
    """Tokens used (and their cost) by day and model.

    The cost needs a price table in the config."""
    from atdak_cli.commands.usage import print_usage_report

    print_usage_report(as_json=json_out)


@mcp_app.command(
    "add",
    epilog=examples(
        "atdak mcp add time -- uvx mcp-server-time",
        "atdak mcp add git --allow git_status -- mcp-server-git --repository .",
        'atdak mcp add docs --url https://x.example/mcp --header "X-Token: ${TOKEN}"',
    ),
)
def mcp_add(
    name: Annotated[str, typer.Argument(help="The server's name (-T NAME).")],
    command: Annotated[
        list[str] | None, typer.Argument(metavar="-- CMD [ARGS]...", help="The stdio command.")
    ] = None,
    url: Annotated[
        str | None, option("--url", metavar="URL", help="A streamable-HTTP server.")
    ] = None,
    env: Annotated[
        list[str] | None, option("--env", metavar="KEY=VALUE", help="Environment variable.")
    ] = None,
    header: Annotated[
        list[str] | None, option("--header", metavar="NAME: VALUE", help="HTTP header.")
    ] = None,
    allow: Annotated[
        list[str] | None, option("--allow", metavar="TOOL", help="Run TOOL without asking.")
    ] = None,
    timeout: Annotated[
        float | None, option("--timeout", metavar="SECONDS", help="Per-call timeout.")
    ] = None,
) -> None:
    """Add (or replace) an MCP server in the config."""
    from atdak_cli.commands.mcp import add

    add(
        name, list(command or ()), url=url, env=list(env or ()), headers=list(header or ()),
        allow=list(allow or ()), timeout=timeout,
    )  # fmt: skip


@mcp_app.command("list", epilog=examples("atdak mcp list"))
def mcp_list() -> None:
    """Each server, whether it starts, and its tools."""
    from atdak_cli.commands.mcp import list_servers

    list_servers()


@mcp_app.command("remove", epilog=examples("atdak mcp remove time"))
def mcp_remove(name: Annotated[str, typer.Argument(help="The server's name.")]) -> None:
    """Remove an MCP server from the config."""
    from atdak_cli.commands.mcp import remove

    remove(name)


@mcp_app.command(
    "import", epilog=examples("atdak mcp import ~/.config/Claude/claude_desktop_config.json")
)
def mcp_import(
    source: Annotated[str, typer.Argument(metavar="FILE", help="mcpServers JSON (- = stdin).")],
) -> None:
    """Import the mcpServers JSON of another client (new names only)."""
    from atdak_cli.commands.mcp import import_servers

    import_servers(source)


@roles_app.command("list")
def roles_list() -> None:
    """The roles defined in the config."""
    from atdak_cli.commands.roles import list_roles

    list_roles()


@roles_app.command("show", epilog=examples("atdak roles show reviewer"))
def roles_show(name: Annotated[str, typer.Argument(help="Role name.")]) -> None:
    """A role's system prompt and parameters."""
    from atdak_cli.commands.roles import show_role

    show_role(name)
