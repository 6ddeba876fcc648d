"""``atdak complete`` end to end against the loopback server, as a real process."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.utils.api_server import FakeAPIServer, json_completion, stream
from tests.utils.process import CANARY_KEY, REPO, run_atdak


def test_complete_streams_answer_to_pipe_byte_exact(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream(["Hello", ", 世界", " 👋"]))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Hello, 世界 👋\n".encode()
    assert result.stderr == b""


def test_complete_sends_every_flag_in_request_body(api: FakeAPIServer, key_env: str) -> None:
    run_atdak(
        "complete", "--base-url", api.base_url, "-m", "atdak-gpt-4-mini", "-t", "0.3",
        "--max-tokens", "50", "--top-p", "0.9", "--frequency-penalty", "-1.5",
        "--presence-penalty", "2", "-s", "be brief", "question",
    )  # fmt: skip
    body = api.requests[-1].json()
    assert body["model"] == "atdak-gpt-4-mini"
    assert body["temperature"] == 0.3
    assert body["max_tokens"] == 50
    assert body["top_p"] == 0.9
    assert body["frequency_penalty"] == -1.5
    assert body["presence_penalty"] == 2
    assert body["stream"] is True
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "question"},
    ]
    assert api.requests[-1].headers["authorization"] == f"Bearer {CANARY_KEY}"


def test_unset_parameters_are_left_out_of_the_body(api: FakeAPIServer, key_env: str) -> None:
    run_atdak("complete", "--base-url", api.base_url, "--no-stream", "hi")
    body = api.requests[-1].json()
    assert set(body) == {"model", "messages"}


def test_stdin_then_files_then_prompt(api: FakeAPIServer, key_env: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text("# Notes\n笔记\n")
    result = run_atdak(
        "complete", "--base-url", api.base_url, "-f", str(notes), "Summarise", input="diff text\n"
    )
    assert result.returncode == 0, result.stderr
    content = api.requests[-1].json()["messages"][-1]["content"]
    assert content.index("diff text") < content.index("笔记") < content.index("Summarise")
    assert f'<file name="{notes}">' in content


def test_help_and_readme_state_the_prompt_order_the_request_follows(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    """One wording of the order (cli.PROMPT_ORDER), said by --help and the README, and the
    order in which a real request joins the parts."""
    from atdak_cli.cli import PROMPT_ORDER

    notes = tmp_path / "notes.md"
    notes.write_text("from the file\n")
    run_atdak("complete", "--base-url", api.base_url, "-f", str(notes), "argument", input="piped")
    content = api.requests[-1].json()["messages"][-1]["content"]
    parts = {"stdin": "piped", "--file": "from the file", "the arguments": "argument"}
    assert all(name in PROMPT_ORDER for name in parts)
    said = sorted(parts, key=PROMPT_ORDER.index)
    assert sorted(parts, key=lambda name: content.index(parts[name])) == said
    help_text = run_atdak("complete", "--help").stdout.decode()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert f"The prompt is {PROMPT_ORDER}," in " ".join(help_text.split())
    assert f"The prompt is {PROMPT_ORDER}," in " ".join(readme.split())


def test_file_dash_reads_stdin_once(api: FakeAPIServer, key_env: str) -> None:
    run_atdak("complete", "--base-url", api.base_url, "-f", "-", "q", input="from stdin")
    content = api.requests[-1].json()["messages"][-1]["content"]
    assert content.count("from stdin") == 1


def test_messages_file_sends_prepared_conversation(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    conversation = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "u2"},
    ]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(conversation))
    result = run_atdak("complete", "--base-url", api.base_url, "--messages", str(path))
    assert result.returncode == 0, result.stderr
    assert api.requests[-1].json()["messages"] == conversation
    assert result.stdout == b"echo: u2\n"


def test_json_prints_assembled_completion_for_a_stream(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream(["a", "b"], usage={"prompt_tokens": 3, "completion_tokens": 2}))
    result = run_atdak("complete", "--base-url", api.base_url, "--json", "hi")
    data = json.loads(result.stdout)
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["content"] == "ab"
    assert data["choices"][0]["finish_reason"] == "stop"
    assert data["usage"]["total_tokens"] == 5


def test_json_without_stream_prints_server_object(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(json_completion("你好！", extra={"system_fingerprint": "fp"}))
    result = run_atdak("complete", "--base-url", api.base_url, "--no-stream", "--json", "hi")
    data = json.loads(result.stdout)
    assert data["choices"][0]["message"]["content"] == "你好！"
    assert data["system_fingerprint"] == "fp"


def test_usage_goes_to_stderr_only(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, "--usage", "one two")
    assert result.stdout == b"echo: one two\n"
    assert b"usage:" in result.stderr
    assert api.requests[-1].json()["stream_options"] == {"include_usage": True}


def test_finish_reason_length_warns_and_exits_0(api: FakeAPIServer, key_env: str) -> None:
    api.enqueue(stream(["cut"], finish_reason="length"))
    result = run_atdak("complete", "--base-url", api.base_url, "hi")
    assert result.returncode == 0
    assert result.stdout == b"cut\n"
    assert b"warning" in result.stderr and b"max-tokens" in result.stderr


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("-t", "2.5"),
        ("-t", "-0.1"),
        ("--top-p", "1.5"),
        ("--max-tokens", "0"),
        ("--frequency-penalty", "3"),
        ("--presence-penalty", "-2.5"),
        ("--timeout", "0"),
    ],
)
def test_out_of_range_values_exit_2_before_sending(
    api: FakeAPIServer, key_env: str, flag: str, value: str
) -> None:
    result = run_atdak("complete", "--base-url", api.base_url, flag, value, "hi")
    assert result.returncode == 2
    assert api.requests == []
    assert result.stderr.count(b"\n") == 1 and result.stderr.startswith(b"atdak: error:")


def test_models_enriches_server_list(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("models", "--base-url", api.base_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["MODEL", "CONTEXT", "DESCRIPTION"]
    assert any(line.startswith("atdak-claude-3") and "200K" in line for line in lines)


def test_models_json(api: FakeAPIServer, key_env: str) -> None:
    result = run_atdak("models", "--base-url", api.base_url, "--json")
    data = json.loads(result.stdout)
    assert {m["id"]: m["context_length"] for m in data}["atdak-llama-70b"] == 32000


@pytest.mark.parametrize("as_json", [False, True])
def test_models_without_a_key_shows_the_catalogue_and_the_local_model(as_json: bool) -> None:
    from atdak_cli.local.model import is_available

    result = run_atdak("models", *(["--json"] if as_json else []))  # default remote base URL
    assert result.returncode == 0, result.stderr
    stderr = result.stderr.decode()
    assert stderr.count("\n") == 1 and "needs an API key" in stderr and "atdak login" in stderr
    assert "error" not in stderr
    out = result.stdout.decode()
    ids = (
        [m["id"] for m in json.loads(out)]
        if as_json
        else [r.split()[0] for r in out.splitlines()[1:]]
    )
    catalogue = ["atdak-gpt-4", "atdak-gpt-4-mini", "atdak-claude-3", "atdak-llama-70b"]
    assert ids == catalogue + (["local"] if is_available() else [])


def test_models_falls_back_to_catalogue_on_404(api: FakeAPIServer, key_env: str) -> None:
    from tests.utils.api_server import not_found

    api.set_default(not_found(), path="/v1/models")
    result = run_atdak("models", "--base-url", api.base_url)
    assert result.returncode == 0
    assert b"atdak-gpt-4-mini" in result.stdout
    assert b"catalogue" in result.stderr


MARKDOWN_ANSWER = """# Streaming answers

A paragraph long enough to wrap: the quick brown fox jumps over the lazy dog, twice over,
then naps in the warm afternoon sun beside the river bank.

- first item with `code`
- second item, **bold**
- third item

```python
def greet(name):
    return f"hello {name}"
```

| tool | speed |
|------|-------|
| atdak | fast |
| other | slow |

The end."""
SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("color", ["never", "always"])
def test_markdown_forced_into_a_pipe_has_no_cursor_control_and_uses_columns(
    api: FakeAPIServer, key_env: str, color: str
) -> None:
    from wcwidth import wcswidth

    from atdak_cli.render.markdown import render_answer

    pieces = [MARKDOWN_ANSWER[i : i + 7] for i in range(0, len(MARKDOWN_ANSWER), 7)]
    api.enqueue(stream(pieces))
    result = run_atdak(
        "complete", "--base-url", api.base_url, "--render", "markdown", "--color", color, "hi",
        env={"COLUMNS": "50"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    if color == "never":
        assert "\x1b" not in out
    else:
        assert SGR.search(out)  # colour as asked, and nothing but colour:
    text = SGR.sub("", out)
    assert "\x1b" not in text, repr(out)
    assert text == render_answer(MARKDOWN_ANSWER, width=50, color_system=None)
    assert 40 < max(wcswidth(line) for line in text.splitlines()) <= 50  # COLUMNS, not 80
    # Every character of the content is there; only the Markdown markup (and the fence's
    # language name) is rendered away.
    content = set(re.findall(r"\w+", MARKDOWN_ANSWER)) - {"python"}
    assert content <= set(re.findall(r"\w+", text))
