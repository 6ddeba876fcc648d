"""Shell completion: the committed scripts are current, and each shell completes with them.

bash is simulated the way readline calls a completion function (COMP_LINE, COMP_POINT,
COMP_WORDS split as COMP_WORDBREAKS splits them) and once through real readline (pexpect);
fish through ``complete -C``; zsh through a pseudo-terminal (zpty) with compadd captured.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer

from atdak_cli import config
from atdak_cli.catalog import CATALOG
from atdak_cli.cli import app
from atdak_cli.commands import completion as shell_completion
from atdak_cli.errors import UsageError
from tests.utils.process import REPO, run_atdak

COMPLETIONS = REPO / "completions"
BASH = COMPLETIONS / "atdak.bash"
CATALOGUE = {m.id for m in CATALOG}
BUDGET_MS = 150

needs_zsh = pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
needs_fish = pytest.mark.skipif(shutil.which("fish") is None, reason="fish is not installed")


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    """A config with two profiles and a role, and a models cache with two served ids."""
    config_dir = Path(os.environ["ATDAK_CONFIG_DIR"])
    data_dir = Path(os.environ["ATDAK_DATA_DIR"])
    config_dir.mkdir(parents=True)
    data_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text(
        'default_profile = "work"\n[profiles.work]\nmodel = "x"\n'
        '[profiles."home lab"]\nbase_url = "http://localhost:8080/v1"\n'
        "[profiles.work.headers]\n[roles.reviewer]\n",
        encoding="utf-8",
    )
    (data_dir / "models-cache.json").write_text(
        json.dumps(["gpt-served", "llama3:8b"]) + "\n", encoding="utf-8"
    )
    return config_dir, data_dir


# -- staleness and the generator -------------------------------------------------------


def test_committed_scripts_match_the_commands() -> None:
    expected = shell_completion.generate(typer.main.get_command(app))
    for name, text in expected.items():
        committed = (COMPLETIONS / name).read_text(encoding="utf-8")
        assert committed == text, f"completions/{name} is stale: run scripts/gen_completions.py"


def test_generator_check_mode_reports_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "gen_completions.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_new_option_appears_in_every_script_after_regeneration() -> None:
    toy = typer.Typer()

    @toy.command()
    def ask(
        frobnicate: int = typer.Option(1, "--frobnicate"),
        model: str = typer.Option("", "-m", "--model"),
    ) -> None:
        """Ask."""

    @toy.command()
    def other() -> None:
        """Other."""

    scripts = shell_completion.generate(typer.main.get_command(toy))
    assert "--frobnicate" in scripts["atdak.bash"]
    assert "--frobnicate=" in scripts["_atdak"]
    assert "-l frobnicate" in scripts["atdak.fish"]
    assert '-m|--model) _atdak_reply="models"' in scripts["atdak.bash"]


def test_value_words_match_what_the_settings_accept() -> None:
    assert shell_completion.OPTION_VALUES["render"].words == config._CHOICES["render"]
    assert shell_completion.OPTION_VALUES["color"].words == config._CHOICES["color"]


def test_every_known_value_name_is_a_parameter_of_the_app() -> None:
    """A renamed parameter would silently lose its completion."""
    names: set[str] = set()
    stack = [typer.main.get_command(app)]
    while stack:
        command = stack.pop()
        names.update(p.name for p in command.params)
        stack.extend(getattr(command, "commands", {}).values())
    assert set(shell_completion.OPTION_VALUES) <= names


def test_module_imports_neither_typer_nor_cli() -> None:
    code = (
        "import sys, atdak_cli.commands.completion\n"
        "print(sorted(set(sys.modules) & {'typer', 'atdak_cli.cli', 'click'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- bash ----------------------------------------------------------------------------------


def bash_complete(
    line: str, words: list[str] | None = None, *, env: dict[str, str] | None = None
) -> list[str]:
    """COMPREPLY for ``line`` with the cursor at its end. ``words``: COMP_WORDS as bash
    splits them (default: split on spaces, plus an empty word after a trailing space)."""
    if words is None:
        words = line.split() + ([""] if line.endswith(" ") else [])
    program = (
        f"source {BASH}\n"
        'COMP_LINE=$1; COMP_POINT=${#1}; shift; COMP_WORDS=("$@"); '
        "COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
        '_atdak\nprintf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program, "bash", line, *words],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
        timeout=10,
    )
    assert result.stderr == ""
    return [w for w in result.stdout.splitlines() if w]


def test_bash_c_offers_the_commands_starting_with_c() -> None:
    assert set(bash_complete("atdak c")) == {"chat", "complete", "completion", "config"}


def test_bash_completes_max_to_max_tokens() -> None:
    assert bash_complete("atdak complete --max-t") == ["--max-tokens"]
    assert bash_complete("atdak complete --max") == ["--max-tokens", "--max-cost"]


def test_bash_completes_reasoning_effort_levels() -> None:
    assert bash_complete("atdak complete --reasoning-effort ") == ["low", "medium", "high"]


def test_bash_offers_the_four_catalogue_models() -> None:
    assert set(bash_complete("atdak complete --model atdak-")) == CATALOGUE
    assert len(CATALOGUE) == 4


def test_bash_adds_the_cached_models(dirs: tuple[Path, Path]) -> None:
    offered = set(bash_complete("atdak chat -m "))
    assert offered == CATALOGUE | {"gpt-served", "llama3:8b"}


def test_bash_model_with_colon_replaces_only_the_last_wordbreak_part(
    dirs: tuple[Path, Path],
) -> None:
    assert bash_complete("atdak chat -m llama3:", ["atdak", "chat", "-m", "llama3", ":"]) == [":8b"]


def test_bash_completes_option_equals_value() -> None:
    words = ["atdak", "complete", "--model", "=", "atdak-gpt-4-m"]
    assert bash_complete("atdak complete --model=atdak-gpt-4-m", words) == ["atdak-gpt-4-mini"]


def test_bash_offers_profiles_and_roles_from_the_config(dirs: tuple[Path, Path]) -> None:
    assert bash_complete("atdak chat --profile ") == ["work", "home\\ lab"]  # quoted
    assert bash_complete("atdak roles show ") == ["reviewer"]
    assert bash_complete("atdak complete --role r") == ["reviewer"]


def test_bash_reads_the_xdg_defaults_without_atdak_dirs(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATDAK_")}
    xdg = tmp_path / "xdg"
    (xdg / "config" / "atdak").mkdir(parents=True)
    (xdg / "config" / "atdak" / "config.toml").write_text("[profiles.xdg]\n", encoding="utf-8")
    env.update(XDG_CONFIG_HOME=str(xdg / "config"), OSTYPE="linux-gnu")
    program = f"source {BASH}; unset ATDAK_CONFIG_DIR; _atdak_config_tables profiles"
    out = subprocess.run(
        ["bash", "--norc", "-c", program], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["xdg"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("atdak complete --render ", ["markdown", "plain"]),
        ("atdak chat --color a", ["auto", "always"]),
        ("atdak history export --format ", ["markdown", "json"]),
        ("atdak completion install ", ["bash", "zsh", "fish"]),
        ("atdak history ", ["list", "show", "search", "delete", "export"]),
        ("atdak config ", ["path", "show"]),
        ("atdak history list --l", ["--limit"]),
        ("atdak -", ["-V", "--version", "-h", "--help"]),
        ("atdak complete -m x c", []),  # a prompt word, not a subcommand
        ("atdak complete --temperature ", []),  # a number: nothing to offer
        ("atdak complete -t 0.5 --no-h", ["--no-history"]),
    ],
)
def test_bash_completes(line: str, expected: list[str]) -> None:
    assert bash_complete(line) == expected


@pytest.mark.parametrize("option", ["-f", "--file", "--messages"])
def test_bash_offers_files_for_file_options(tmp_path: Path, option: str) -> None:
    (tmp_path / "notes.md").write_text("x", encoding="utf-8")
    (tmp_path / "notebook").mkdir()
    assert sorted(bash_complete(f"atdak complete {option} {tmp_path}/no")) == [
        f"{tmp_path}/notebook",
        f"{tmp_path}/notes.md",
    ]


def test_bash_completion_never_runs_atdak(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    """No Python and no network on TAB: an atdak on PATH that leaves a mark is never run."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    spy = bin_dir / "atdak"
    spy.write_text(f"#!/bin/sh\ntouch {tmp_path}/ran\n", encoding="utf-8")
    spy.chmod(spy.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for line in ("atdak c", "atdak chat -m ", "atdak chat --profile ", "atdak completion show "):
        assert bash_complete(line, env=env)
    assert not (tmp_path / "ran").exists()


def test_bash_completion_answers_within_budget(dirs: tuple[Path, Path]) -> None:
    """The slowest kinds (cache and config read with tr/sed), timed inside bash, best of 5."""
    program = (
        f"source {BASH}\n"
        't() { COMP_LINE=$1; COMP_POINT=${#1}; read -ra COMP_WORDS <<< "$1"; '
        "COMP_WORDS+=(''); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); local s=$EPOCHREALTIME; "
        "_atdak; echo $(( (${EPOCHREALTIME/./} - ${s/./}) / 1000 )); }\n"
        "for i in 1 2 3 4 5; do t 'atdak chat -m '; t 'atdak chat --profile '; "
        "t 'atdak history '; done\n"
    )
    out = subprocess.run(
        ["bash", "--norc", "-c", program], capture_output=True, text=True, check=True
    )
    timings = [int(ms) for ms in out.stdout.split()]
    assert len(timings) == 15
    assert max(timings) < BUDGET_MS, timings


def test_bash_readline_inserts_the_completion(dirs: tuple[Path, Path]) -> None:
    """Real readline, so COMP_WORDS and the --model= word break are bash's own."""
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, "PS1": "$ ", "INPUTRC": "/dev/null", "TERM": "dumb"}
    shell = pexpect.spawn(
        "bash", ["--norc", "--noprofile", "-i"], env=env, encoding="utf-8", timeout=5
    )
    try:
        shell.expect_exact("$ ")
        shell.sendline(f"source {BASH}; atdak() {{ printf '<%s>' \"$@\"; echo; }}")
        shell.expect_exact("$ ")
        shell.send("atdak complete --max-t\t 5 --model=atdak-gpt-4-m\t hi\r")
        shell.expect_exact("<complete><--max-tokens><5><--model=atdak-gpt-4-mini><hi>")
    finally:
        shell.close(force=True)


# -- zsh ------------------------------------------------------------------------------------

ZSH_SETUP = r"""
PROMPT=''
fpath=($ATDAK_TEST_COMPLETIONS $fpath)
autoload -Uz compinit && compinit -u -D
bindkey '^I' complete-word
zstyle ':completion:*' insert-tab false
_capture_begin() { print -r -- '<<BEGIN>>' }
_capture_end() { print -r -- '<<END>>'; exit }
compprefuncs=(_capture_begin)
comppostfuncs=(_capture_end)
compadd() {
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
        builtin compadd "$@"
        return
    fi
    local -a __hits
    builtin compadd -A __hits "$@"
    (( $#__hits )) && print -rl -- "<<HIT>>"${^__hits}
    builtin compadd "$@"
}
"""

ZSH_DRIVER = r"""
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "source ${0:h}/setup.zsh"
zpty -w z "$1"$'\t'
local line
while zpty -r z line; do
    [[ $line == *'<<END>>'* ]] && break
    [[ $line == '<<HIT>>'* ]] && print -r -- ${${line#<<HIT>>}%%[[:space:]]#}
done
zpty -d z
"""


def zsh_complete(tmp_path: Path, line: str) -> list[str]:
    (tmp_path / "setup.zsh").write_text(ZSH_SETUP, encoding="utf-8")
    (tmp_path / "driver.zsh").write_text(ZSH_DRIVER, encoding="utf-8")
    env = {**os.environ, "ATDAK_TEST_COMPLETIONS": str(COMPLETIONS), "HOME": str(tmp_path)}
    result = subprocess.run(
        ["zsh", "-f", str(tmp_path / "driver.zsh"), line],
        capture_output=True, text=True, env=env, timeout=20, check=True,
    )  # fmt: skip
    return [w for w in result.stdout.splitlines() if w]


@needs_zsh
def test_zsh_script_parses() -> None:
    subprocess.run(["zsh", "-n", str(COMPLETIONS / "_atdak")], check=True)


@needs_zsh
def test_zsh_completes_the_three_cases(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    assert set(zsh_complete(tmp_path, "atdak c")) == {"chat", "complete", "completion", "config"}
    assert set(zsh_complete(tmp_path, "atdak complete --max")) == {"--max-tokens", "--max-cost"}
    models = set(zsh_complete(tmp_path, "atdak complete --model atdak-"))
    assert models == CATALOGUE


@needs_zsh
def test_zsh_completes_dynamic_values(tmp_path: Path, dirs: tuple[Path, Path]) -> None:
    assert set(zsh_complete(tmp_path, "atdak chat -m ")) >= {"gpt-served", "llama3:8b"}
    # zsh inserts the name quoted, as it shows it.
    assert set(zsh_complete(tmp_path, "atdak chat --profile ")) == {"work", "home\\ lab"}
    assert zsh_complete(tmp_path, "atdak history export --format ") == ["markdown", "json"]


# -- fish ------------------------------------------------------------------------------------


def fish_complete(line: str) -> list[str]:
    program = f"source {COMPLETIONS / 'atdak.fish'}; complete -C $argv[1]"
    result = subprocess.run(
        ["fish", "--no-config", "-c", program, line],
        capture_output=True, text=True, timeout=10, check=True,
    )  # fmt: skip
    return [row.split("\t")[0] for row in result.stdout.splitlines()]


@needs_fish
def test_fish_script_parses() -> None:
    subprocess.run(["fish", "--no-execute", str(COMPLETIONS / "atdak.fish")], check=True)


@needs_fish
def test_fish_completes_the_three_cases(dirs: tuple[Path, Path]) -> None:
    assert set(fish_complete("atdak c")) == {"chat", "complete", "completion", "config"}
    assert set(fish_complete("atdak complete --max")) == {"--max-tokens", "--max-cost"}
    assert set(fish_complete("atdak complete --model atdak-")) == CATALOGUE


@needs_fish
def test_fish_completes_dynamic_values(dirs: tuple[Path, Path]) -> None:
    assert set(fish_complete("atdak chat -m ")) == CATALOGUE | {"gpt-served", "llama3:8b"}
    assert set(fish_complete("atdak chat --profile ")) == {"work", "home lab"}
    assert set(fish_complete("atdak completion show ")) == {"bash", "zsh", "fish"}
    assert fish_complete("atdak complete history ") == []


@needs_fish
def test_fish_completion_answers_within_budget(dirs: tuple[Path, Path]) -> None:
    """Including fish's own start-up: the whole `complete -C` process, best of 3."""
    best = min(_elapsed_ms(lambda: fish_complete("atdak chat -m ")) for _ in range(3))
    assert best < BUDGET_MS


def _elapsed_ms(call: object) -> float:
    start = time.perf_counter()
    call()  # type: ignore[operator]
    return (time.perf_counter() - start) * 1000


# -- choosing, printing and installing ---------------------------------------------------------


def test_resolve_shell_prefers_the_argument_then_shell_variable() -> None:
    assert shell_completion.resolve_shell("fish", {"SHELL": "/bin/bash"}) == "fish"
    assert shell_completion.resolve_shell(None, {"SHELL": "/usr/bin/zsh"}) == "zsh"


@pytest.mark.parametrize(
    ("shell", "environ"), [("tcsh", {}), (None, {"SHELL": "/bin/ksh"}), (None, {})]
)
def test_resolve_shell_rejects_unknown_shells(shell: str | None, environ: dict[str, str]) -> None:
    with pytest.raises(UsageError):
        shell_completion.resolve_shell(shell, environ)


@pytest.mark.parametrize("shell", shell_completion.SHELLS)
def test_script_is_the_committed_file(shell: str) -> None:
    expected = (COMPLETIONS / shell_completion.FILENAMES[shell]).read_text(encoding="utf-8")
    assert shell_completion.script(shell) == expected


def test_install_bash_honours_xdg_data_home(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data")}
    path = shell_completion.install("bash", environ=env, notice=lambda _: None)
    assert path == tmp_path / "data" / "bash-completion" / "completions" / "atdak"
    assert path.read_text(encoding="utf-8") == BASH.read_text(encoding="utf-8")


def test_install_fish_goes_to_the_fish_completions_dir(tmp_path: Path) -> None:
    path = shell_completion.install("fish", environ={"HOME": str(tmp_path)})
    assert path == tmp_path / ".config" / "fish" / "completions" / "atdak.fish"
    assert path.is_file()


def test_install_zsh_says_how_to_add_the_dir_to_fpath(tmp_path: Path) -> None:
    notices: list[str] = []
    path = shell_completion.install("zsh", environ={"HOME": str(tmp_path)}, notice=notices.append)
    assert path == tmp_path / ".zfunc" / "_atdak"
    assert path.read_text(encoding="utf-8").startswith("#compdef atdak\n")
    assert len(notices) == 1
    assert f"fpath=({tmp_path / '.zfunc'} $fpath)" in notices[0]


def test_install_zsh_is_quiet_when_zshrc_already_names_the_dir(tmp_path: Path) -> None:
    (tmp_path / ".zshrc").write_text("fpath=(~/.zfunc $fpath)\n", encoding="utf-8")
    notices: list[str] = []
    shell_completion.install("zsh", environ={"HOME": str(tmp_path)}, notice=notices.append)
    assert notices == []


def test_cli_completion_show_prints_the_script() -> None:
    result = run_atdak("completion", "show", "fish")
    assert result.returncode == 0
    assert result.stdout.decode() == (COMPLETIONS / "atdak.fish").read_text(encoding="utf-8")


def test_cli_completion_install_zsh_writes_file_and_hint(tmp_path: Path) -> None:
    result = run_atdak("completion", "install", "zsh", env={"HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".zfunc" / "_atdak").is_file()
    assert b"fpath=(" in result.stderr
    assert result.stdout == b""


def test_cli_completion_show_unknown_shell_is_a_usage_error() -> None:
    result = run_atdak("completion", "show", "tcsh")
    assert result.returncode == 2
    assert result.stderr.startswith(b"atdak: error: no completion for 'tcsh'")
