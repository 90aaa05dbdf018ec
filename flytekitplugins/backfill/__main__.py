from .command.cli import main

main()
