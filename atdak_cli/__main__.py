from atdak_cli.launch import main

main()
