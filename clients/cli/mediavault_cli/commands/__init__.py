"""The `mediavault` subcommands, one module per topic; `mediavault_cli.cli` puts them together."""
