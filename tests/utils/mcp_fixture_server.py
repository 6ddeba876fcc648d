"""An MCP server of our own for the tool tests, on the official SDK's server side.

    python tests/mcp_fixture_server.py            # stdio
    python tests/mcp_fixture_server.py --http     # streamable HTTP on 127.0.0.1, port 0;
                                                  # prints "PORT <n>" once it listens

Its tools misbehave on request: crash the process, hang, fail, answer hugely, or answer with
terminal control sequences. It also has one prompt and one resource.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("fixture", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Repeat the text."""
    return f"echo: {text}"


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def env_names() -> str:
    """The names of this process's environment variables, one a line."""
    return "\n".join(sorted(os.environ))


@server.tool()
def crash() -> str:
    """Exit the server process at once."""
    os._exit(3)


@server.tool()
async def hang(seconds: float) -> str:
    """Sleep, then answer."""
    await asyncio.sleep(seconds)
    return "woke up"


@server.tool()
def fail() -> str:
    """Always fails."""
    raise ValueError("it broke")


@server.tool()
def big(size: int) -> str:
    """A text of `size` characters."""
    return "x" * size


@server.tool()
def control() -> str:
    """Text carrying terminal control sequences."""
    return "safe\x1b[2J\x1b]0;pwned\x07 text\x1b[31m red\x9b1m"


@server.tool()
def header(name: str, ctx: Context) -> str:
    """The value of an HTTP request header (streamable HTTP only)."""
    request = getattr(ctx.request_context, "request", None)
    headers = getattr(request, "headers", None)
    return str(headers.get(name, "")) if headers is not None else ""


@server.prompt()
def review(language: str) -> str:
    """Ask for a code review."""
    return f"Review this {language} code carefully."


@server.resource("note://readme")
def readme() -> str:
    """A short note."""
    return "The fixture's note."


def serve_http() -> None:
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # before the port is announced: a client that connects at once queues
    print(f"PORT {sock.getsockname()[1]}", flush=True)
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == "__main__":
    if "--http" in sys.argv:
        serve_http()
    else:
        server.run()
