"""``atdak chat``: the loop (``loop``), the session's state and turns (``state``), the slash
commands (``commands``), and the prompt (``prompt``, the only prompt_toolkit importer)."""
