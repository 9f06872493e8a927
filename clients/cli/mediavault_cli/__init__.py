"""The mediavault command-line client: speaks only Media Vault's public HTTP API."""
