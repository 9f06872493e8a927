"""HTTP blueprints of the Media Vault API."""
