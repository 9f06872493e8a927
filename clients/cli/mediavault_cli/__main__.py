"""`python -m mediavault_cli` is the same as `mediavault`."""

from mediavault_cli.cli import main

main()
