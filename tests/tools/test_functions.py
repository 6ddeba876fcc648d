"""--functions FILE.py: type-hinted functions become tool schemas; running one gives its
value, its exception or a timeout as the result."""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest

from atdak_cli.errors import UsageError
from atdak_cli.tools.functions import function_spec, load_functions, run_function

FILE = '''
"""Helpers for the model."""
import json

def word_count(text: str, *, unique: bool = False) -> int:
    """Count the words of a text."""
    words = text.split()
    return len(set(words)) if unique else len(words)

def explode() -> str:
    """Always raises."""
    raise RuntimeError("boom")

def nap(seconds: float) -> str:
    import time
    time.sleep(seconds)
    return "rested"

def _private() -> None:
    pass

dumps = json.dumps  # imported, not defined here: not offered
'''


def test_public_functions_of_the_file_become_tools(tmp_path: Path) -> None:
    path = tmp_path / "fns.py"
    path.write_text(FILE)
    tools = {tool.spec.name: tool for tool in load_functions(path)}
    assert sorted(tools) == ["explode", "nap", "word_count"]
    spec = tools["word_count"].spec
    assert spec.source == "functions" and spec.description == "Count the words of a text."
    assert spec.input_schema == {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "unique": {"type": "boolean", "default": False},
        },
        "required": ["text"],
    }
    assert run_function(tools["word_count"], {"text": "a b a"}).result().text == "3"
    failed = run_function(tools["explode"], {}).result()
    assert failed.outcome == "error" and failed.text == "error: explode raised RuntimeError: boom"
    started = time.monotonic()
    late = run_function(tools["nap"], {"seconds": 5}, timeout=0.3).result()
    assert time.monotonic() - started < 2
    assert late.text == "error: nap gave no answer within 0.3 s"


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def rich_types(
    names: list[str],
    mode: Literal["fast", "slow"],
    colour: Colour,
    limit: int | None = None,
    weights: dict[str, float] | None = None,
    note: Annotated[str, "what to say"] = "",
    anything: Any = None,
) -> None:
    pass


def test_schemas_of_containers_literals_enums_optionals_and_annotations() -> None:
    properties = function_spec(rich_types).input_schema["properties"]
    assert properties["names"] == {"type": "array", "items": {"type": "string"}}
    assert properties["mode"] == {"enum": ["fast", "slow"]}
    assert properties["colour"] == {"enum": ["red", "blue"]}
    assert properties["limit"] == {
        "anyOf": [{"type": "integer"}, {"type": "null"}],
        "default": None,
    }
    assert properties["weights"]["anyOf"][0] == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert properties["note"] == {"type": "string", "description": "what to say", "default": ""}
    assert properties["anything"] == {"default": None}


def test_a_type_json_cannot_carry_is_a_usage_error_naming_the_parameter() -> None:
    def takes_path(where: Path) -> None:
        pass

    with pytest.raises(UsageError, match="parameter 'where' of takes_path"):
        function_spec(takes_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("def broken(:\n", "SyntaxError"),
        ("raise SystemExit('no')\n", "SystemExit"),
        ("x = 1\n", "defines no public function"),
    ],
)
def test_a_file_that_cannot_be_used_is_a_usage_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.py"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_functions(path)


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        load_functions(tmp_path / "absent.py")
