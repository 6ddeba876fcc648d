"""Tools for the model: MCP servers (the official ``mcp`` SDK), the functions of a Python file,
approval of every call, and the call loop.

Layout: ``config`` ([mcp.NAME] tables), ``cache`` (tool lists as last seen), ``mcp_client``
(the only importer of ``mcp``), ``functions`` (--functions), ``toolbox`` (the tools of a run,
checking calls), ``approval``, ``display``, ``loop``, ``sender`` (one request on AtdakClient).
Nothing here is imported unless tools are used.
"""
