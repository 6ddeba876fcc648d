"""Saved conversations: the SQLite schema and its migrations (``schema``), the queries
(``store``), full-text search (``search``), the rows reads return (``rows``), saving turns as
they happen (``recorder``) and Markdown/JSON export (``export``).

Nothing is imported here: writing an exchange needs neither the row types nor the search code.
"""
