"""Run in a pty by test_tools_approval: asks about one call of fx.echo per argument (each a
JSON object) and prints each decision. ``APPROVAL_DELAY`` seconds pass before each question."""

from __future__ import annotations

import json
import os
import sys
import time

from atdak_cli.tools.approval import TerminalApprover, open_terminal
from atdak_cli.tools.spec import ToolCall, ToolSpec
from atdak_cli.tools.toolbox import Offered, Prepared

SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}


def main() -> None:
    tty = open_terminal(stdin_isatty=sys.stdin.isatty(), stderr_isatty=sys.stderr.isatty())
    assert tty is not None
    approver = TerminalApprover(tty)
    spec = ToolSpec("fx", "echo", "Repeat the text.", SCHEMA)
    for i, arguments in enumerate(sys.argv[1:]):
        time.sleep(float(os.environ.get("APPROVAL_DELAY", "0")))
        prepared = Prepared(ToolCall(f"c{i}", "echo", arguments), Offered(spec, "echo"))
        prepared.arguments = json.loads(arguments)
        decision = approver.decide(prepared)
        print("DECISION", json.dumps({"run": decision.run, "arguments": decision.arguments}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
