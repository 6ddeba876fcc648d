"""One module per subcommand: what ``atdak NAME`` does once the CLI has parsed it."""
