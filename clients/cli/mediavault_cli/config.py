"""Where the client keeps its profiles, and which API and issuer a command talks to."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# `make run`'s loopback addresses: a fresh checkout works without any setting.
DEFAULT_API = "http://127.0.0.1:8000"
DEFAULT_ISSUER = "http://127.0.0.1:8080/realms/media-vault"
CLIENT_ID = "media-vault-cli"

ENV_CONFIG_DIR = "MEDIAVAULT_CONFIG_DIR"
ENV_API = "MEDIAVAULT_API"
ENV_ISSUER = "MEDIAVAULT_ISSUER"
# A bearer token for scripts: used as is, never refreshed or stored.
ENV_TOKEN = "MEDIAVAULT_TOKEN"  # noqa: S105 - the variable's name, not a secret


def config_dir() -> Path:
    """$MEDIAVAULT_CONFIG_DIR, else $XDG_CONFIG_HOME/mediavault, else ~/.config/mediavault."""
    if explicit := os.environ.get(ENV_CONFIG_DIR):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mediavault"


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)


@dataclass
class Profile:
    """One vault: its addresses and the tokens of whoever logged in to it."""

    name: str
    api: str
    issuer: str
    stored: dict[str, Any]

    @property
    def path(self) -> Path:
        return profile_path(self.name)

    def save(self) -> None:
        """Persist addresses and tokens (0600)."""
        self.stored.update(api=self.api, issuer=self.issuer)
        _write_private(self.path, json.dumps(self.stored, indent=2))

    def forget_tokens(self) -> bool:
        """Drop the tokens; True if there were any."""
        had = any(k in self.stored for k in ("access_token", "refresh_token"))
        for key in ("access_token", "refresh_token", "access_expires_at", "refresh_expires_at", "username"):
            self.stored.pop(key, None)
        if self.path.exists():
            self.save()
        return had

    def state_dir(self) -> Path:
        """Resumable-upload state of this profile."""
        return config_dir() / "uploads" / self.name


def profile_path(name: str) -> Path:
    if not name or any(c in name for c in "/\\\0") or name.startswith("."):
        from mediavault_cli.errors import CliError

        raise CliError(f"invalid profile name {name!r}")
    return config_dir() / "profiles" / f"{name}.json"


def load_profile(name: str, api: str | None = None, issuer: str | None = None) -> Profile:
    """A profile with its addresses: option, then environment, then the profile file, then make run's defaults."""
    path = profile_path(name)
    stored: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    return Profile(
        name=name,
        api=(api or os.environ.get(ENV_API) or stored.get("api") or DEFAULT_API).rstrip("/"),
        issuer=(issuer or os.environ.get(ENV_ISSUER) or stored.get("issuer") or DEFAULT_ISSUER).rstrip("/"),
        stored=stored,
    )
