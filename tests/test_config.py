"""config.toml: a key atdak does not know is named, with the closest one it does."""

from __future__ import annotations

from pathlib import Path

from tests.utils.api_server import FakeAPIServer
from tests.utils.process import run_atdak

CONFIG = """\
tempreature = 0.5
default_profile = "work"

[profiles.work]
modle = "x"

[roles.reviewer]
system = "Review this."
max_token = 30

[prices."atdak-gpt-4"]
inptu = 2.0
"""


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_keys_warn_naming_the_key_the_file_and_the_closest_known_key(
    api: FakeAPIServer, key_env: str, tmp_path: Path
) -> None:
    path = write_config(tmp_path, CONFIG)
    result = run_atdak("complete", "--base-url", api.base_url, "--role", "reviewer", "hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"echo: hi\n"
    assert result.stderr.decode().splitlines() == [
        f"atdak: warning: unknown key 'tempreature' in {path} is ignored"
        " — did you mean 'temperature'?",
        f"atdak: warning: unknown key 'modle' in [profiles.work] of {path} is ignored"
        " — did you mean 'model'?",
        f"atdak: warning: unknown key 'max_token' in [roles.reviewer] of {path} is ignored"
        " — did you mean 'max_tokens'?",
        f"atdak: warning: unknown key 'inptu' in [prices.\"atdak-gpt-4\"] of {path} is ignored"
        " — did you mean 'input'?",
    ]
    assert "temperature" not in api.requests[-1].json()  # ignored, as the warning says


def test_a_key_like_no_other_says_so(tmp_path: Path) -> None:
    path = write_config(tmp_path, "zzzz = 1\n")
    result = run_atdak("config", "show")
    assert result.returncode == 0
    assert result.stderr.decode() == (
        f"atdak: warning: unknown key 'zzzz' in {path} is ignored"
        " — remove it, or check its spelling\n"
    )


def test_every_documented_key_is_known(tmp_path: Path) -> None:
    """The README's config.toml example, and roles and prices as it describes them."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    example = readme.split("```toml\n# config.toml\n", 1)[1].split("```", 1)[0]
    example += '[roles.r]\nsystem = "s"\nmodel = "m"\ntemperature = 1\ntop_p = 1\nmax_tokens = 9\n'
    example += '[prices."atdak-gpt-4"]\ninput = 2.0\noutput = 8.0\n'
    write_config(tmp_path, example)
    result = run_atdak("config", "show", "--profile", "local")
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
