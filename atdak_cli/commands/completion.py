"""Shell completion for bash, zsh and fish: find, print and install the committed scripts,
and generate them from the command tree.

The scripts in ``completions/`` are plain shell: a TAB never starts Python (a do-nothing
``atdak`` costs ~50 ms, a TAB must answer within 150 ms). The dynamic values are read by the
shell itself: model ids from the cache ``atdak models`` writes (``paths.models_cache_file``)
and profile and role names from the ``[profiles.NAME]``/``[roles.NAME]`` headers of
config.toml. Both directories follow ``paths``: ``$ATDAK_CONFIG_DIR``/``$ATDAK_DATA_DIR``,
else the platformdirs defaults (XDG on Linux, ~/Library/Application Support on macOS).

``scripts/gen_completions.py`` walks the click command of the typer app with
:func:`command_tree` and writes the scripts with :func:`render`; a test fails when the
committed files differ from what the code would generate. Printing and installing read the
committed files, so this module never imports typer (or ``cli``: nothing imports ``cli``).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from atdak_cli.errors import UsageError

SHELLS = ("bash", "zsh", "fish")
FILENAMES = {"bash": "atdak.bash", "zsh": "_atdak", "fish": "atdak.fish"}
_NAME = re.compile(r"^-{0,2}[A-Za-z0-9][A-Za-z0-9_-]*$")


# -- finding, printing and installing the committed scripts ------------------------------


def resolve_shell(shell: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The shell asked for, else the one in ``$SHELL``; an unknown shell is a usage error."""
    env = os.environ if environ is None else environ
    name = shell or Path(env.get("SHELL", "")).name
    if name in SHELLS:
        return name
    if not name:
        raise UsageError("cannot tell your shell from $SHELL", hint="name it: bash, zsh or fish")
    raise UsageError(f"no completion for {name!r}", hint="choose bash, zsh or fish")


def script_path(shell: str) -> Path:
    """The committed script: shipped inside the package (wheel), else in the source tree."""
    package = Path(__file__).resolve().parent.parent  # atdak_cli/
    for directory in (package / "completions", package.parent / "completions"):
        candidate = directory / FILENAMES[shell]
        if candidate.is_file():
            return candidate
    raise UsageError(f"the {shell} completion script is missing from this installation")


def script(shell: str) -> str:
    return script_path(shell).read_text(encoding="utf-8")


def show(shell: str | None) -> None:
    """``atdak completion show``: the script on stdout."""
    sys.stdout.write(script(resolve_shell(shell)))


def install_for(shell: str | None) -> None:
    """``atdak completion install``: the script where the shell finds it."""
    from atdak_cli.terminal import open_terminal

    path = install(resolve_shell(shell))
    open_terminal(None).notice(f"atdak: installed {path}; open a new shell to use it")


def install(
    shell: str,
    *,
    environ: Mapping[str, str] | None = None,
    notice: Callable[[str], None] | None = None,
) -> Path:
    """Write the script where the shell looks for it; say on stderr what else is needed."""
    env = os.environ if environ is None else environ
    target = install_path(shell, env)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(script(shell), encoding="utf-8")
    hint = _install_hint(shell, target, env)
    if hint:
        (notice or _to_stderr)(hint)
    return target


def install_path(shell: str, environ: Mapping[str, str]) -> Path:
    home = Path(environ.get("HOME") or Path.home())
    if shell == "bash":
        # bash-completion >= 2.2 loads completions/<command> from here on first use.
        data = environ.get("XDG_DATA_HOME") or str(home / ".local" / "share")
        return Path(data) / "bash-completion" / "completions" / "atdak"
    if shell == "zsh":
        return home / ".zfunc" / "_atdak"
    config = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(config) / "fish" / "completions" / "atdak.fish"


def _install_hint(shell: str, target: Path, environ: Mapping[str, str]) -> str | None:
    if shell == "zsh":
        return _zsh_hint(target, environ)
    if shell == "bash" and not any(Path(p).is_file() for p in _BASH_COMPLETION):
        return (
            "atdak: bash loads it through the bash-completion package; without it, add "
            f"this line to ~/.bashrc:\n  source {target}"
        )
    return None


_BASH_COMPLETION = (
    "/usr/share/bash-completion/bash_completion",
    "/etc/bash_completion",
    "/usr/local/share/bash-completion/bash_completion",
    "/opt/homebrew/etc/profile.d/bash_completion.sh",
)


def _zsh_hint(target: Path, environ: Mapping[str, str]) -> str | None:
    """zsh's fpath is a shell variable we cannot read; ~/.zshrc naming the dir is enough."""
    home = Path(environ.get("HOME") or Path.home())
    zshrc = Path(environ.get("ZDOTDIR") or home) / ".zshrc"
    try:
        if target.parent.name in zshrc.read_text(encoding="utf-8", errors="replace"):
            return None
    except OSError:
        pass
    return (
        f"atdak: add these lines to {zshrc}, before any other compinit:\n"
        f"  fpath=({target.parent} $fpath)\n"
        "  autoload -Uz compinit && compinit"
    )


def _to_stderr(text: str) -> None:
    sys.stderr.write(text + "\n")


# -- the command tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class Values:
    """What an option or argument takes: ``kind`` is none, files, models, words or table."""

    kind: str
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Option:
    names: tuple[str, ...]
    help: str
    values: Values | None  # None: a flag
    repeatable: bool = False


@dataclass(frozen=True)
class Argument:
    name: str
    values: Values
    variadic: bool = False


@dataclass(frozen=True)
class Command:
    path: tuple[str, ...]
    help: str
    options: tuple[Option, ...]
    arguments: tuple[Argument, ...] = ()
    commands: tuple[Command, ...] = field(default=())

    def walk(self) -> Iterable[Command]:
        yield self
        for sub in self.commands:
            yield from sub.walk()


NONE = Values("none")
FILES = Values("files")
SHELL_WORDS = Values("words", SHELLS)
# Values by parameter name: the option strings themselves come from the command tree.
OPTION_VALUES = {
    "model": Values("models"),
    "profile": Values("table", ("profiles",)),
    "role": Values("table", ("roles",)),
    "tools": Values("table", ("mcp",)),
    "functions": FILES,
    "render": Values("words", ("markdown", "plain")),
    "color": Values("words", ("auto", "always", "never")),
    "fmt": Values("words", ("markdown", "json")),
    "file": FILES,
    "messages": FILES,
    "output": FILES,
    "model_path": FILES,
    "reasoning_effort": Values("words", ("low", "medium", "high")),
    # A file, or the word stderr: files complete, and stderr can be typed.
    "reasoning_to": FILES,
}
ARGUMENT_VALUES: dict[tuple[str, ...], Values] = {
    ("batch",): FILES,
    ("completion", "show"): SHELL_WORDS,
    ("completion", "install"): SHELL_WORDS,
    ("roles", "show"): Values("table", ("roles",)),
    ("mcp", "remove"): Values("table", ("mcp",)),
    ("mcp", "import"): FILES,
}


def command_tree(command: Any, path: tuple[str, ...] = (), parent: Any = None) -> Command:
    """Our model of a click command (``typer.main.get_command(app)``) and its subcommands.

    The contexts are chained so that subcommands inherit ``help_option_names`` (-h)."""
    ctx = command.context_class(
        command, info_name=path[-1] if path else "atdak", parent=parent, **command.context_settings
    )
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    subs = getattr(command, "commands", {})
    names = command.list_commands(ctx) if subs else []
    children = tuple(
        command_tree(subs[name], (*path, name), ctx) for name in names if not subs[name].hidden
    )
    return Command(
        path=path,
        help=_clean(command.get_short_help_str(limit=72)),
        options=tuple(_option(p) for p in params if p.param_type_name == "option"),
        arguments=tuple(_argument(p, path) for p in params if p.param_type_name == "argument"),
        commands=children,
    )


def _option(param: Any) -> Option:
    # Short names first: click builds the help option's names from a set (hash order).
    names = tuple(sorted(param.opts, key=_short_first)) + tuple(param.secondary_opts)
    for name in names:
        _check_name(name)
    values = None if param.is_flag or param.count else _values(param, OPTION_VALUES.get(param.name))
    return Option(names, _clean(param.help or ""), values, bool(param.multiple))


def _short_first(name: str) -> tuple[bool, str]:
    return name.startswith("--"), name


def _argument(param: Any, path: tuple[str, ...]) -> Argument:
    values = _values(param, ARGUMENT_VALUES.get(path))
    return Argument(param.name, values, variadic=param.nargs == -1)


def _values(param: Any, known: Values | None) -> Values:
    choices = getattr(param.type, "choices", None)
    if choices:
        return Values("words", tuple(str(c) for c in choices))
    return known or NONE


def _check_name(name: str) -> None:
    """The scripts put names in case patterns unquoted: only safe characters."""
    if not _NAME.match(name):
        raise ValueError(f"cannot complete the name {name!r}")


def _clean(text: str) -> str:
    first = text.strip().split("\n\n")[0]
    return " ".join(first.replace("\b", "").split())


# -- rendering ------------------------------------------------------------------------------

_GENERATED = (
    "Generated by scripts/gen_completions.py from the commands in atdak_cli/cli.py:\n"
    "change those and regenerate; do not edit this file."
)


def render(shell: str, tree: Command, models: Iterable[tuple[str, str]]) -> str:
    """The completion script for ``shell``; ``models`` are the catalogue's (id, description)."""
    renderers = {"bash": _bash, "zsh": _zsh, "fish": _fish}
    return renderers[shell](tree, tuple(models))


def generate(command: Any) -> dict[str, str]:
    """File name -> text of every script, from the click command of the app."""
    from atdak_cli.catalog import CATALOG

    tree = command_tree(command)
    models = [(m.id, m.description) for m in CATALOG]
    return {FILENAMES[shell]: render(shell, tree, models) for shell in SHELLS}


def _comment(text: str) -> str:
    return "\n".join(f"# {line}" if line else "#" for line in text.splitlines())


def _value_options(command: Command) -> list[Option]:
    return [o for o in command.options if o.values is not None]


def _kinds(command: Command) -> dict[Values, list[str]]:
    """Option names grouped by the values they take, in declaration order."""
    grouped: dict[Values, list[str]] = {}
    for option in _value_options(command):
        grouped.setdefault(option.values or NONE, []).extend(option.names)
    return grouped


def _argument_values(command: Command) -> Values | None:
    known = [a.values for a in command.arguments if a.values != NONE]
    return known[0] if known else None


# -- bash ---------------------------------------------------------------------------------

_BASH_HELPERS = r"""
_atdak_config_dir() {
    if [[ -n ${ATDAK_CONFIG_DIR-} ]]; then
        printf '%s\n' "${ATDAK_CONFIG_DIR/#\~/$HOME}"
    elif [[ $OSTYPE == darwin* ]]; then
        printf '%s\n' "$HOME/Library/Application Support/atdak"
    else
        printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/atdak"
    fi
}

_atdak_data_dir() {
    if [[ -n ${ATDAK_DATA_DIR-} ]]; then
        printf '%s\n' "${ATDAK_DATA_DIR/#\~/$HOME}"
    elif [[ $OSTYPE == darwin* ]]; then
        printf '%s\n' "$HOME/Library/Application Support/atdak"
    else
        printf '%s\n' "${XDG_DATA_HOME:-$HOME/.local/share}/atdak"
    fi
}

# The built-in catalogue, then the ids that the last `atdak models` cached (a JSON list).
_atdak_models() {
    local cache
    cache="$(_atdak_data_dir)/models-cache.json"
    printf '%s\n' __MODELS__
    [[ -r $cache ]] && tr ',[]' '\n\n\n' < "$cache" |
        sed -n 's/^[[:space:]]*"\(.*\)"[[:space:]]*$/\1/p'
}

# NAME of every [$1.NAME] or [$1."NAME"] table header in config.toml.
_atdak_config_tables() {
    local config
    config="$(_atdak_config_dir)/config.toml"
    [[ -r $config ]] && sed -n \
        -e "s/^[[:space:]]*\[[[:space:]]*$1\.\([A-Za-z0-9_-]*\)[[:space:]]*\].*/\1/p" \
        -e "s/^[[:space:]]*\[[[:space:]]*$1\.\"\([^\"]*\)\"[[:space:]]*\].*/\1/p" "$config"
}

# Add the lines of stdin that start with $1 to COMPREPLY (after $_atdak_pre), quoted for
# the command line unless $2 is "raw" (compopt -o filenames quotes file names itself).
_atdak_add() {
    local word
    while IFS= read -r word; do
        [[ $word == "$1"* ]] || continue
        [[ $2 == raw ]] || printf -v word '%q' "$word"
        COMPREPLY+=("$_atdak_pre$word")
    done
    return 0
}

# Complete $2 as a value of kind $1: models, files, table:NAME or words:WORD...
_atdak_value() {
    case $1 in
        models) _atdak_add "$2" < <(_atdak_models) ;;
        files)
            compopt -o filenames 2>/dev/null
            _atdak_add "$2" raw < <(compgen -f -- "$2")
            ;;
        table:*) _atdak_add "$2" < <(_atdak_config_tables "${1#table:}") ;;
        words:*) _atdak_add "$2" < <(printf '%s\n' ${1#words:}) ;;
    esac
}

# COMP_WORDBREAKS splits --model=x and a:b into several words and readline replaces only the
# last one ($1): drop what comes before it ($2 is the whole word) from every candidate.
_atdak_trim() {
    local pre i
    [[ -n $1 && $2 == *"$1" ]] || return 0
    pre=${2%"$1"}
    for i in "${!COMPREPLY[@]}"; do
        COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
    done
}
"""

_BASH_MAIN = r"""
_atdak() {
    local line=${COMP_LINE:0:COMP_POINT} cur="" path="" pending="" word
    local _atdak_reply="" _atdak_pre=""
    local -a words
    read -ra words <<< "$line"
    if [[ $line != *[[:space:]] && ${#words[@]} -gt 1 ]]; then
        cur=${words[${#words[@]}-1]}
        unset "words[${#words[@]}-1]"
    fi
    COMPREPLY=()
    for word in "${words[@]:1}"; do
        if [[ -n $pending ]]; then
            pending=""
            continue
        fi
        case $word in
            --*=*) ;;
            -*) _atdak_option_kind "$path" "$word" && pending=$word ;;
            *)
                _atdak_commands "$path"
                [[ " $_atdak_reply " == *" $word "* ]] && path=${path:+$path }$word
                ;;
        esac
    done
    if [[ -n $pending ]]; then
        _atdak_option_kind "$path" "$pending"
        _atdak_value "$_atdak_reply" "$cur"
    elif [[ $cur == --*=* ]]; then
        _atdak_pre=${cur%%=*}=
        _atdak_option_kind "$path" "${cur%%=*}" && _atdak_value "$_atdak_reply" "${cur#*=}"
    elif [[ $cur == -* ]]; then
        _atdak_options "$path"
        _atdak_add "$cur" < <(printf '%s\n' $_atdak_reply)
    else
        _atdak_commands "$path"
        if [[ -n $_atdak_reply ]]; then
            _atdak_add "$cur" < <(printf '%s\n' $_atdak_reply)
        elif _atdak_argument_kind "$path"; then
            _atdak_value "$_atdak_reply" "$cur"
        fi
    fi
    _atdak_trim "${COMP_WORDS[COMP_CWORD]}" "$cur"
    return 0
}

complete -F _atdak atdak
"""


def _bash(tree: Command, models: tuple[tuple[str, str], ...]) -> str:
    header = "# bash completion for atdak                                 -*- shell-script -*-\n"
    header += _comment(_GENERATED + "\nInstall: atdak completion install bash") + "\n"
    helpers = _BASH_HELPERS.replace("__MODELS__", " ".join(m for m, _ in models))
    tables = "\n".join(
        [
            _bash_case("_atdak_commands", "The subcommands of each command.", tree, _bash_subs),
            _bash_case("_atdak_options", "The options of each command.", tree, _bash_opts),
            _bash_kind_function(tree),
            _bash_case("_atdak_argument_kind", "What arguments take.", tree, _bash_argument),
        ]
    )
    return header + helpers + tables + _BASH_MAIN


def _bash_case(name: str, doc: str, tree: Command, reply: Callable[[Command], str | None]) -> str:
    arms = [
        f'        "{" ".join(c.path)}") _atdak_reply="{value}" ;;'
        for c in tree.walk()
        if (value := reply(c))
    ]
    body = "\n".join(["    case $1 in", *arms, '        *) _atdak_reply="" ;;', "    esac"])
    return f"\n# {doc}\n{name}() {{\n{body}\n    [[ -n $_atdak_reply ]]\n}}\n"


def _bash_subs(command: Command) -> str | None:
    return " ".join(c.path[-1] for c in command.commands) or None


def _bash_opts(command: Command) -> str | None:
    return " ".join(n for o in command.options for n in o.names) or None


def _bash_argument(command: Command) -> str | None:
    values = _argument_values(command)
    return _bash_kind(values) if values else None


def _bash_kind(values: Values) -> str:
    if values.kind in ("words", "table"):
        return f"{values.kind}:{' '.join(values.words)}"
    return values.kind


def _bash_kind_function(tree: Command) -> str:
    lines = [
        "",
        "# The kind of value each option takes (status 1: a flag).",
        "_atdak_option_kind() {",
    ]
    lines += ['    _atdak_reply=""', "    case $1 in"]
    for command in tree.walk():
        arms = [
            f'                {"|".join(names)}) _atdak_reply="{_bash_kind(values)}" ;;'
            for values, names in _kinds(command).items()
        ]
        if arms:
            lines += [f'        "{" ".join(command.path)}")', "            case $2 in", *arms]
            lines += ["            esac", "            ;;"]
    lines += ["    esac", "    [[ -n $_atdak_reply ]]", "}", ""]
    return "\n".join(lines)


# -- zsh ----------------------------------------------------------------------------------

_ZSH_HELPERS = r"""
__atdak_dir() {
    if [[ -n ${(P)1} ]]; then
        print -r -- ${${(P)1}/#\~/$HOME}
    elif [[ $OSTYPE == darwin* ]]; then
        print -r -- "$HOME/Library/Application Support/atdak"
    elif [[ $1 == ATDAK_CONFIG_DIR ]]; then
        print -r -- "${XDG_CONFIG_HOME:-$HOME/.config}/atdak"
    else
        print -r -- "${XDG_DATA_HOME:-$HOME/.local/share}/atdak"
    fi
}

# The built-in catalogue (with descriptions), then the ids the last `atdak models` cached.
__atdak_models() {
    local cache="$(__atdak_dir ATDAK_DATA_DIR)/models-cache.json"
    local -a models cached
    models=(__MODELS__)
    if [[ -r $cache ]]; then
        cached=(${(f)"$(tr ',[]' '\n\n\n' < $cache |
            sed -n 's/^[[:space:]]*"\(.*\)"[[:space:]]*$/\1/p')"})
        models+=(${cached//:/\\:})
    fi
    _describe -t models 'model' models
}

# NAME of every [TABLE.NAME] or [TABLE."NAME"] header in config.toml; TABLE is the last
# argument, _arguments puts compadd options before it.
__atdak_config_tables() {
    local table=${@[-1]} config="$(__atdak_dir ATDAK_CONFIG_DIR)/config.toml"
    local -a names
    [[ -r $config ]] && names=(${(f)"$(sed -n \
        -e "s/^[[:space:]]*\[[[:space:]]*$table\.\([A-Za-z0-9_-]*\)[[:space:]]*\].*/\1/p" \
        -e "s/^[[:space:]]*\[[[:space:]]*$table\.\"\([^\"]*\)\"[[:space:]]*\].*/\1/p" $config)"})
    compadd "${(@)argv[1,-2]}" -a names
}
"""

_ZSH_FOOTER = """
if [[ $funcstack[1] == _atdak ]]; then
    _atdak "$@"
else
    compdef _atdak atdak
fi
"""


def _zsh(tree: Command, models: tuple[tuple[str, str], ...]) -> str:
    header = "#compdef atdak\n"
    header += _comment(_GENERATED + "\nInstall: atdak completion install zsh") + "\n"
    described = " ".join(_zsh_quote(f"{_zsh_escape(m, ':')}:{d}") for m, d in models)
    helpers = _ZSH_HELPERS.replace("__MODELS__", described)
    functions = "".join(_zsh_function(c) for c in tree.walk())
    return header + helpers + functions + _ZSH_FOOTER


def _zsh_function(command: Command) -> str:
    name = _zsh_name(command.path)
    specs = [_zsh_option(o) for o in command.options]
    if command.commands:
        return _zsh_group(name, command, specs)
    specs += [_zsh_argument(a, i) for i, a in enumerate(command.arguments, 1)]
    return f"\n{name}() {{\n    _arguments -s -S \\\n{_zsh_join(specs)}\n}}\n"


def _zsh_group(name: str, command: Command, specs: list[str]) -> str:
    specs += ["'1: :->command'", "'*:: :->argument'"]
    described = " ".join(
        _zsh_quote(f"{_zsh_escape(c.path[-1], ':')}:{c.help}") for c in command.commands
    )
    arms = "\n".join(
        f"                {c.path[-1]}) {_zsh_name(c.path)} ;;" for c in command.commands
    )
    title = " ".join(("atdak", *command.path))
    return f"""
{name}() {{
    local curcontext=$curcontext state line
    typeset -A opt_args
    _arguments -C -s -S \\
{_zsh_join(specs)}
    case $state in
        command)
            local -a commands
            commands=({described})
            _describe -t commands '{title} command' commands
            ;;
        argument)
            curcontext=${{curcontext%:*:*}}:{"-".join(("atdak", *command.path))}-$line[1]:
            case $line[1] in
{arms}
            esac
            ;;
    esac
}}
"""


def _zsh_name(path: tuple[str, ...]) -> str:
    """``_atdak`` for the root, ``_atdak_cmd_history_list`` below it."""
    return "_".join(("_atdak_cmd", *path)) if path else "_atdak"


def _zsh_option(option: Option) -> str:
    names = option.names
    prefix = "'*'" if option.repeatable else _zsh_quote(f"({' '.join(names)})")
    if "--help" in names or "--version" in names:
        prefix = "'(- *)'"  # nothing else makes sense after them
    help_text = _zsh_quote(f"[{_zsh_escape(option.help, '[]')}]")
    if option.values is None:
        forms = names
        action = ""
    else:
        forms = tuple(n + ("=" if n.startswith("--") else "+") for n in names)
        message = names[-1].lstrip("-")
        action = _zsh_quote(f":{message}:{_zsh_action(option.values)}")
    spelled = forms[0] if len(forms) == 1 else "{" + ",".join(forms) + "}"
    return f"{prefix}{spelled}{help_text}{action}"


def _zsh_argument(argument: Argument, position: int) -> str:
    where = "*" if argument.variadic else str(position)
    return _zsh_quote(f"{where}:{argument.name.replace('_', ' ')}:{_zsh_action(argument.values)}")


def _zsh_action(values: Values) -> str:
    if values.kind == "models":
        return "__atdak_models"
    if values.kind == "files":
        return "_files"
    if values.kind == "table":
        return f"__atdak_config_tables {values.words[0]}"
    if values.kind == "words":
        return f"({' '.join(values.words)})"
    return " "


def _zsh_join(specs: list[str]) -> str:
    return " \\\n".join(f"        {spec}" for spec in specs)


def _zsh_escape(text: str, chars: str) -> str:
    text = text.replace("\\", "\\\\")
    for char in chars:
        text = text.replace(char, "\\" + char)
    return text


def _zsh_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


# -- fish ---------------------------------------------------------------------------------

_FISH_HELPERS = r"""
function __atdak_dir -a variable fallback
    if set -q $variable; and test -n "$$variable"
        echo $$variable
    else if test (uname) = Darwin
        echo "$HOME/Library/Application Support/atdak"
    else
        echo $fallback/atdak
    end
end

# The built-in catalogue (with descriptions), then the ids the last `atdak models` cached.
function __atdak_models
    set -l data_home ~/.local/share
    set -q XDG_DATA_HOME; and test -n "$XDG_DATA_HOME"; and set data_home $XDG_DATA_HOME
    set -l cache (__atdak_dir ATDAK_DATA_DIR $data_home)/models-cache.json
    printf '%s\t%s\n' __MODELS__
    test -r $cache; or return
    string join '' < $cache | string replace -ra '[\[\]]' '' | string split , |
        string trim | string replace -rf '^"(.*)"$' '$1'
end

# NAME of every [$argv[1].NAME] or [$argv[1]."NAME"] table header in config.toml.
function __atdak_config_tables -a table
    set -l config_home ~/.config
    set -q XDG_CONFIG_HOME; and test -n "$XDG_CONFIG_HOME"; and set config_home $XDG_CONFIG_HOME
    set -l config (__atdak_dir ATDAK_CONFIG_DIR $config_home)/config.toml
    test -r $config; or return
    string replace -rf '^\s*\[\s*'$table'\.(?:"([^"]*)"|([A-Za-z0-9_-]+))\s*\].*$' '$1$2' < $config
end

# The command being completed (e.g. "history list"), skipping options and their values.
function __atdak_path
    set -l path ''
    set -l pending 0
    for word in (commandline -opc)[2..-1]
        if test $pending = 1
            set pending 0
        else if string match -q -- '--*=*' $word
        else if string match -q -- '-*' $word
            contains -- $word (__atdak_value_options $path); and set pending 1
        else if contains -- $word (__atdak_commands $path)
            set path (string trim -- "$path $word")
        end
    end
    echo $path
end

function __atdak_at -a path
    set -l current (__atdak_path)
    test "$current" = "$path"
end
"""


def _fish(tree: Command, models: tuple[tuple[str, str], ...]) -> str:
    header = _comment(
        "fish completion for atdak\n" + _GENERATED + "\nInstall: atdak completion install fish"
    )
    described = " ".join(f"{_fish_quote(m)} {_fish_quote(d)}" for m, d in models)
    helpers = _FISH_HELPERS.replace("__MODELS__", described)
    lines = ["", "complete -c atdak -f"]
    for command in tree.walk():
        lines += _fish_command(command)
    return header + "\n" + helpers + _fish_tables(tree) + "\n".join(lines) + "\n"


def _fish_tables(tree: Command) -> str:
    subs = [(c.path, [s.path[-1] for s in c.commands]) for c in tree.walk() if c.commands]
    valued = [(c.path, [n for o in _value_options(c) for n in o.names]) for c in tree.walk()]
    return _fish_switch("__atdak_commands", subs) + _fish_switch(
        "__atdak_value_options", [(p, names) for p, names in valued if names]
    )


def _fish_switch(name: str, rows: list[tuple[tuple[str, ...], list[str]]]) -> str:
    arms = [
        f"        case {_fish_quote(' '.join(path))}\n            printf '%s\\n' {' '.join(words)}"
        for path, words in rows
    ]
    return f'\nfunction {name}\n    switch "$argv"\n' + "\n".join(arms) + "\n    end\nend\n"


def _fish_command(command: Command) -> list[str]:
    at = f"complete -c atdak -n {_fish_quote('__atdak_at ' + _fish_quote(' '.join(command.path)))}"
    lines = [f"{at} -a {c.path[-1]} -d {_fish_quote(c.help)}" for c in command.commands]
    lines += [f"{at} {_fish_option(o)}" for o in command.options]
    values = _argument_values(command)
    if values is not None:
        lines.append(f"{at} {_fish_values(values)}".rstrip())
    return lines


def _fish_option(option: Option) -> str:
    parts = []
    for name in option.names:
        flag = "-l" if name.startswith("--") else "-s"
        parts.append(f"{flag} {name.lstrip('-')}")
    if option.values is not None:
        parts.append(_fish_values(option.values))
    parts.append(f"-d {_fish_quote(option.help)}")
    return " ".join(p for p in parts if p)


def _fish_values(values: Values) -> str:
    if values.kind == "files":
        return "-r -F"
    if values.kind == "models":
        return "-x -a '(__atdak_models)'"
    if values.kind == "table":
        return f"-x -a '(__atdak_config_tables {values.words[0]})'"
    if values.kind == "words":
        return f"-x -a {_fish_quote(' '.join(values.words))}"
    return "-x"


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
