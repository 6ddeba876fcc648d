"""From the command line's tool options to a :class:`ToolSession` (the commands' one door)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from atdak_cli.errors import UsageError
from atdak_cli.tools.loop import DEFAULT_CHAIN_LIMIT, ToolSession

if TYPE_CHECKING:
    from atdak_cli.terminal import Terminal


@dataclass(frozen=True)
class ToolOptions:
    """``-T/--tools``, ``--functions``, ``--approve-tools``, ``--chain-limit``."""

    tools: tuple[str, ...] = ()
    functions: tuple[Path, ...] = ()
    approve_tools: bool = False
    chain_limit: int = DEFAULT_CHAIN_LIMIT

    @property
    def wanted(self) -> bool:
        return bool(self.tools or self.functions)

    def check(self) -> None:
        if self.chain_limit < 1:
            raise UsageError(f"--chain-limit must be at least 1, not {self.chain_limit}")


@contextlib.contextmanager
def open_session(
    options: ToolOptions,
    *,
    config: Mapping[str, Any],
    config_path: Path,
    terminal: Terminal,
    environ: Mapping[str, str] | None = None,
) -> Iterator[ToolSession]:
    """The tools chosen, loaded (from the cache where it can), and who approves their calls.
    Servers and the terminal are closed on the way out."""
    from atdak_cli.tools import config as tool_config
    from atdak_cli.tools.approval import TerminalApprover, Unattended, open_terminal
    from atdak_cli.tools.cache import ToolListCache, cache_file
    from atdak_cli.tools.display import ToolDisplay
    from atdak_cli.tools.toolbox import Toolbox, load_function_files, parse_selection

    options.check()
    servers = tool_config.servers(config, config_path)
    toolbox = Toolbox(
        servers,
        parse_selection(list(options.tools)),
        functions=load_function_files(list(options.functions)),
        cache=ToolListCache(cache_file(environ)),
        environ=environ,
        approve_all=options.approve_tools,
    )
    with contextlib.ExitStack() as stack:
        stack.enter_context(toolbox)
        toolbox.load()
        tty = open_terminal(
            stdin_isatty=terminal.stdin_isatty, stderr_isatty=terminal.stderr_isatty
        )
        approver: Any = Unattended()
        if tty is not None:
            stack.callback(tty.close)
            approver = TerminalApprover(tty)
        yield ToolSession(
            toolbox, approver, ToolDisplay(_transcript(terminal)), options.chain_limit
        )


def _transcript(terminal: Terminal) -> Any:
    """Calls are shown where the person is: the answer's terminal, else stderr's; a pipe
    (stdout) gets only the final answer."""
    if terminal.stdout_isatty:
        return terminal.stdout
    return terminal.stderr if terminal.stderr_isatty else None
