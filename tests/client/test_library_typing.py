"""mypy --strict on user code importing from ``atdak``: the types it sees are precise (the
library issue: ``from atdak import AtdakClient`` was ``Any`` to mypy)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.utils.process import REPO

USER_CODE = """\
from atdak import AsyncAtdakClient, AtdakClient

client = AtdakClient()
messages = [{"role": "user", "content": "hi"}]
reveal_type(client.chat.completions.create(model="m", messages=messages))
reveal_type(client.chat.completions.create(model="m", messages=messages, stream=True))
reveal_type(client.chat.completions.with_raw_response.create(model="m", messages=messages))
for chunk in client.chat.completions.create(model="m", messages=messages, stream=True):
    reveal_type(chunk.choices[0].delta.tool_calls)
client.chat.completions.create(model="m", messages=messages, temprature=1)
client.chat.completions.create(model="m", messages=messages, seed="1")


async def main() -> None:
    aclient = AsyncAtdakClient()
    reveal_type(await aclient.chat.completions.create(model="m", messages=messages, stream=True))
"""

EXPECTED = [
    "atdak_cli.client._types.ChatCompletion",
    "atdak_cli.client._streaming.Stream[atdak_cli.client._types.ChatCompletionChunk]",
    "atdak_cli.client._response.LegacyAPIResponse[atdak_cli.client._types.ChatCompletion]",
    "list[atdak_cli.client._types.ChoiceDeltaToolCall] | None",
    "atdak_cli.client._streaming.AsyncStream[atdak_cli.client._types.ChatCompletionChunk]",
]


def test_atdak_ships_py_typed() -> None:
    assert (REPO / "atdak" / "py.typed").is_file()
    assert (REPO / "atdak_cli" / "py.typed").is_file()


def test_mypy_strict_sees_precise_types_and_refuses_wrong_keywords(tmp_path: Path) -> None:
    script = tmp_path / "user.py"
    script.write_text(USER_CODE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--cache-dir", str(tmp_path / "cache"), str(script)],
        cwd=tmp_path, env={"MYPYPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    revealed = [
        line.split('Revealed type is "', 1)[1].rstrip('"')
        for line in done.stdout.splitlines()
        if "Revealed type is" in line
    ]
    assert revealed == EXPECTED, done.stdout
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    assert {line.split(":")[1] for line in errors} == {"10", "11"}, done.stdout  # only those
    assert 'Unexpected keyword argument "temprature"' in errors[0]


def test_import_atdak_loads_no_httpx_until_a_client_is_used() -> None:
    code = (
        "import sys, atdak; assert 'httpx' not in sys.modules, 'eager';"
        "atdak.AtdakClient; assert 'httpx' in sys.modules; print('ok')"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout == "ok\n", done.stderr
