"""atdak: a terminal client for the atdak Chat Completions API."""

__version__ = "0.1.0"
