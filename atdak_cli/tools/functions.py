"""``--functions FILE.py``: the type-hinted functions of a Python file become tools.

Every public function defined in the file is offered; its docstring is the description, its
parameters' annotations the JSON schema (``Annotated[int, "what it is"]`` describes one).
The file runs as ordinary Python code, with the user's rights: only name files you trust.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import inspect
import json
import threading
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atdak_cli.errors import UsageError
from atdak_cli.tools.spec import ToolResult, ToolSpec

SOURCE = "functions"
DEFAULT_TIMEOUT = 60.0
_SIMPLE: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    Any: {},
    inspect.Parameter.empty: {},
}


@dataclass(frozen=True)
class PythonTool:
    spec: ToolSpec
    function: Callable[..., Any]


def load_functions(path: Path) -> list[PythonTool]:
    """The tools of ``path``; UsageError (exit 2) if it cannot be loaded or has none."""
    module = _load_module(path)
    found = [
        obj
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and name[0] != "_"
    ]
    if not found:
        raise UsageError(f"{path} defines no public function to offer as a tool")
    return [PythonTool(function_spec(fn), fn) for fn in found]


def _load_module(path: Path) -> types.ModuleType:
    import importlib.util

    name = f"atdak_functions_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot load {path} as Python (is it a .py file?)")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except FileNotFoundError:
        raise UsageError(f"cannot read {path} (no such file)") from None
    except (Exception, SystemExit) as exc:  # the user's code: any failure is theirs to fix
        raise UsageError(f"cannot load {path} ({type(exc).__name__}: {exc})") from None
    return module


def function_spec(fn: Callable[..., Any]) -> ToolSpec:
    """The tool of one function: name, docstring and a JSON schema of its parameters."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as exc:
        raise UsageError(f"cannot read the type hints of {fn.__name__} ({exc})") from None
    properties: dict[str, Any] = {}
    required: list[str] = []
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise UsageError(f"{fn.__name__}: *args and **kwargs cannot be offered to a model")
        where = f"parameter {parameter.name!r} of {fn.__name__}"
        schema = type_schema(hints.get(parameter.name, inspect.Parameter.empty), where)
        if parameter.default is parameter.empty:
            required.append(parameter.name)
        elif _is_json(parameter.default):
            schema = {**schema, "default": parameter.default}
        properties[parameter.name] = schema
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    description = inspect.getdoc(fn) or ""
    return ToolSpec(SOURCE, fn.__name__, description, parameters)


def type_schema(hint: Any, where: str) -> dict[str, Any]:
    """The JSON schema of a type annotation; UsageError for one JSON cannot carry."""
    if hint in _SIMPLE:
        return dict(_SIMPLE[hint])
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        schema = type_schema(args[0], where)
        notes = [a for a in args[1:] if isinstance(a, str)]
        return {**schema, "description": " ".join(notes)} if notes else schema
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [type_schema(arg, where) for arg in args]}
    if hint in (list, tuple, set, frozenset) or origin in (list, tuple, set, frozenset):
        items = args[0] if args else None
        return {"type": "array", **({"items": type_schema(items, where)} if items else {})}
    if hint is dict or origin is dict:
        if len(args) == 2:
            return {"type": "object", "additionalProperties": type_schema(args[1], where)}
        return {"type": "object"}
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return {"enum": [member.value for member in hint]}
    raise UsageError(f"the type of {where} ({hint!r}) cannot be sent as JSON")


def _is_json(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def run_function(
    tool: PythonTool, arguments: dict[str, Any], *, timeout: float = DEFAULT_TIMEOUT
) -> concurrent.futures.Future[ToolResult]:
    """Call the function on a daemon thread (a hung one cannot keep atdak from exiting);
    its return value, or its exception, becomes the result."""
    future: concurrent.futures.Future[ToolResult] = concurrent.futures.Future()

    def run() -> None:
        started = time.monotonic()
        try:
            value = tool.function(**arguments)
        except BaseException as exc:  # noqa: BLE001 - the user's code; reported to the model
            text = f"error: {tool.spec.name} raised {type(exc).__name__}: {exc}"
            _settle(future, ToolResult(text, "error", time.monotonic() - started))
            return
        _settle(future, ToolResult(_as_text(value), "ok", time.monotonic() - started))

    threading.Thread(target=run, name=f"atdak-fn-{tool.spec.name}", daemon=True).start()
    return _with_timeout(future, tool.spec.name, timeout)


def _with_timeout(
    future: concurrent.futures.Future[ToolResult], name: str, timeout: float
) -> concurrent.futures.Future[ToolResult]:
    timer = threading.Timer(
        timeout,
        lambda: _settle(
            future, ToolResult(f"error: {name} gave no answer within {timeout:g} s", "error")
        ),
    )
    timer.daemon = True
    timer.start()
    future.add_done_callback(lambda _: timer.cancel())
    return future


def _settle(future: concurrent.futures.Future[ToolResult], result: ToolResult) -> None:
    with contextlib.suppress(concurrent.futures.InvalidStateError):  # the other came first
        future.set_result(result)


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
