from uir_cli.cli.app import main

main()
