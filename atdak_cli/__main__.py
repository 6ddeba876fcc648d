from atdak_cli.cli import main

main()
