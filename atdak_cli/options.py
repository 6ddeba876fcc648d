"""The command line's shared options, declared once (``Annotated`` aliases and the groups
that commands take together), and the layout of ``--help``. Only :mod:`atdak_cli.cli` uses it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer
import typer.core
from typer import _click

from atdak_cli.config import Flags

if TYPE_CHECKING:
    from atdak_cli.tools.setup import ToolOptions


def option(*names: str, metavar: str | None = None, help: str) -> typer.models.OptionInfo:
    info: typer.models.OptionInfo = typer.Option(*names, metavar=metavar, help=help)
    return info


# Options shared by commands, declared once so every command spells them alike.
# Repeated only by `complete`, which then compares ([PROFILE:]MODEL each); others refuse it.
ModelOpt = Annotated[
    list[str] | None,
    option("-m", "--model", metavar="MODEL", help="Model name (complete: repeat to compare)."),
]
EffortOpt = Annotated[
    str | None,
    option("--reasoning-effort", metavar="LEVEL", help="low, medium or high: how hard to think."),
]
MaxCostOpt = Annotated[
    float | None,
    option("--max-cost", metavar="USD", help="Refuse or stop a request over this cost."),
]
ShowReasoningOpt = Annotated[
    bool, option("--show-reasoning", help="Keep the thinking on screen, not one line.")
]
ReasoningToOpt = Annotated[
    str | None,
    option("--reasoning-to", metavar="FILE", help="Also write the thinking to FILE or stderr."),
]
SystemOpt = Annotated[str | None, option("-s", "--system", metavar="TEXT", help="System prompt.")]
TempOpt = Annotated[
    float | None, option("-t", "--temperature", metavar="T", help="Sampling temperature, 0-2.")
]
MaxTokensOpt = Annotated[
    int | None, option("--max-tokens", metavar="N", help="Most tokens to generate (>= 1).")
]
TopPOpt = Annotated[float | None, option("--top-p", metavar="P", help="Nucleus sampling, 0-1.")]
FreqOpt = Annotated[
    float | None, option("--frequency-penalty", metavar="F", help="Frequency penalty, -2 to 2.")
]
PresOpt = Annotated[
    float | None, option("--presence-penalty", metavar="F", help="Presence penalty, -2 to 2.")
]
ProfileOpt = Annotated[
    str | None, option("--profile", metavar="NAME", help="Config profile to use.")
]
BaseUrlOpt = Annotated[str | None, option("--base-url", metavar="URL", help="API base URL.")]
ApiKeyOpt = Annotated[
    str | None, option("--api-key", metavar="KEY", help="API key; prefer `atdak login`.")
]
TimeoutOpt = Annotated[
    float | None,
    option("--timeout", metavar="SECONDS", help="Deadline of one request, in seconds."),
]
JsonOpt = Annotated[bool, option("--json", help="Print the API's JSON object.")]
DebugOpt = Annotated[bool, option("--debug", help="Show HTTP traffic (key masked) and tracebacks.")]
InsecureOpt = Annotated[
    bool, option("--allow-insecure-http", help="Allow sending the key over plain http.")
]
RenderOpt = Annotated[
    str | None,
    option("--render", metavar="MODE", help="markdown or plain (default: by terminal)."),
]
ColorOpt = Annotated[str | None, option("--color", metavar="WHEN", help="auto, always or never.")]
ModelPathOpt = Annotated[
    str | None,
    option("--model-path", metavar="FILE", help="Run a local GGUF file (implies -m local)."),
]
RoleOpt = Annotated[
    str | None, option("--role", metavar="NAME", help="Named role from the config.")
]
VarOpt = Annotated[
    list[str] | None,
    option("--var", metavar="NAME=VALUE", help="Fill a role's {placeholder}: name=value."),
]
NoHistoryOpt = Annotated[
    bool, option("--no-history", help="Do not save this exchange in the history.")
]
ContinueOpt = Annotated[bool, option("-c", "--continue", help="Continue the latest conversation.")]
ToolsOpt = Annotated[
    list[str] | None,
    option("-T", "--tools", metavar="NAME", help="Offer an MCP server's tools (NAME.tool: one)."),
]
FunctionsOpt = Annotated[
    list[str] | None,
    option("--functions", metavar="FILE", help="Offer the typed functions of a Python file."),
]
ApproveToolsOpt = Annotated[
    bool, option("--approve-tools", help="Run the model's tool calls without asking.")
]
ChainLimitOpt = Annotated[
    int, option("--chain-limit", metavar="N", help="Most rounds of tool calls.")
]


def tool_options(
    tools: list[str] | None, functions: list[str] | None, approve: bool, chain_limit: int
) -> ToolOptions | None:
    """None without -T or --functions: nothing of atdak_cli.tools is imported then."""
    if not tools and not functions:
        return None
    from pathlib import Path

    from atdak_cli.tools.setup import ToolOptions

    return ToolOptions(
        tuple(tools or ()), tuple(Path(f) for f in functions or ()), approve, chain_limit
    )


def model_options(
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
) -> None:
    """The model and how it samples."""


def thinking_options(reasoning_effort: EffortOpt = None, max_cost: MaxCostOpt = None) -> None:
    """How hard the model thinks, and what it may cost."""


def output_options(
    render: RenderOpt = None, color: ColorOpt = None, no_history: NoHistoryOpt = False
) -> None:
    """How the answer is shown, and whether it is saved."""


def connection_options(
    profile: ProfileOpt = None,
    base_url: BaseUrlOpt = None,
    api_key: ApiKeyOpt = None,
    timeout: TimeoutOpt = None,
    allow_insecure_http: InsecureOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Where the API is and how to reach it."""


def with_flags(*groups: Callable[..., None]) -> Callable[[Callable[..., int]], Callable[..., None]]:
    """The command takes the options of ``groups`` too, gathered with any of its own that are
    settings (``--stream``) into one :class:`~atdak_cli.config.Flags` given as ``flags``; the
    number it returns is the exit status."""

    def decorate(command: Callable[..., int]) -> Callable[..., None]:
        own = [p for p in _parameters(command) if p.name != "flags"]
        shared = [p for g in groups for p in _parameters(g)]
        own_names = {p.name for p in own} - Flags.names()

        def run(**values: object) -> None:
            mine = {k: v for k, v in values.items() if k in own_names}
            raise typer.Exit(command(Flags.of(values), **mine))

        run.__signature__ = inspect.Signature([*own, *shared])  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in [*own, *shared]}
        run.__name__, run.__doc__ = command.__name__, command.__doc__
        return run

    return decorate


def _parameters(function: Callable[..., object]) -> list[inspect.Parameter]:
    return list(inspect.signature(function, eval_str=True).parameters.values())


def examples(*lines: str) -> str:
    """An --help epilog; ``\\b`` keeps click from re-wrapping the lines into one."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


OPTION_SECTIONS: dict[str, tuple[str, ...]] = {
    "Input": ("file", "messages", "continue_last", "conversation", "resume", "role", "var",
              "concurrency", "output"),
    "Model and sampling": ("model", "model_path", "system", "temperature", "max_tokens",
                           "top_p", "frequency_penalty", "presence_penalty",
                           "reasoning_effort", "max_cost"),
    "Output": ("stream", "json_out", "usage", "extract", "extract_last", "render", "color",
               "show_reasoning", "reasoning_to", "no_history"),
    "Tools": ("tools", "functions", "approve_tools", "chain_limit"),
    "Connection": ("profile", "base_url", "api_key", "timeout", "allow_insecure_http", "debug"),
}  # fmt: skip
_SECTION_OF = {name: title for title, names in OPTION_SECTIONS.items() for name in names}


class GroupedCommand(typer.core.TyperCommand):
    """--help with the options in sections (typer's rich_help_panel needs rich markup, which
    we keep off); one column width for every section, so that they line up."""

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
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


def _section(param: _click.Parameter) -> str:
    if param.param_type_name == "argument":
        return "Arguments"
    return _SECTION_OF.get(param.name or "", "Other options")
