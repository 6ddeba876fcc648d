"""The API page's import path: ``from atdak import AtdakClient``."""

from atdak_cli.client import *  # noqa: F403
from atdak_cli.client import __all__ as __all__
