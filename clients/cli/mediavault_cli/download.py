"""Downloading originals: safe local names, resumable through a .part file, checked against the item's SHA-256."""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from mediavault_cli.api import Api, storage_message, with_retries
from mediavault_cli.errors import ApiError, CliError

CHUNK = 1024 * 1024
# Names Windows refuses whatever the extension; a vault shared with a Windows machine should not trip on them.
RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


@dataclass
class Fetched:
    """What became of one download."""

    media_id: str
    result: str  # downloaded | present | error
    path: str = ""
    sha256: str = ""
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.result == "error"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def safe_name(name: str, fallback: str) -> str:
    """A file name that cannot leave the target folder or upset a file system: no separators, controls or dots-only."""
    name = unicodedata.normalize("NFC", name).replace("/", "_").replace("\\", "_")
    name = re.sub(r'[\x00-\x1f\x7f<>:"|?*]', "_", name).strip(" .")
    if not name or name.split(".")[0].lower() in RESERVED:
        name = f"{fallback}{'_' + name if name else ''}"
    encoded = name.encode()
    if len(encoded) > 200:
        _stem, dot, ext = name.rpartition(".")
        keep = ext if dot and len(ext) <= 10 else ""
        name = encoded[: 200 - len(keep) - 1].decode(errors="ignore") + (f".{keep}" if keep else "")
    return name


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Downloader:
    """Downloads items into one folder; names are claimed under a lock so parallel downloads never collide."""

    def __init__(self, api: Api, folder: Path, progress: Progress) -> None:
        self.api = api
        self.folder = folder
        self.progress = progress
        self._claimed: set[str] = set()
        self._lock = threading.Lock()

    def _target(self, filename: str, media_id: str, sha256: str, keep_existing: bool = False) -> Path:
        name = safe_name(filename, media_id)
        with self._lock:
            candidate = self.folder / name
            taken = name in self._claimed
            if not taken and candidate.exists():
                # keep_existing: with no SHA-256 to compare, a file already there may be anything; never replace it.
                taken = file_sha256(candidate) != sha256 if sha256 else keep_existing
            if taken:
                stem, dot, ext = name.rpartition(".")
                name = f"{stem}-{media_id[:8]}.{ext}" if dot and stem else f"{name}-{media_id[:8]}"
            self._claimed.add(name)
            return self.folder / name

    def fetch(self, media_id: str) -> Fetched:
        """Download one item's original."""
        outcome = Fetched(media_id, "error")
        try:
            item = self.api.request("GET", f"/media/{media_id}")
            expected = item.get("sha256") or ""
            link = self.api.request("GET", f"/media/{media_id}/download")
            target = self._target(link.get("filename") or item["filename"], media_id, expected)
            outcome.path = str(target)
            if target.exists() and expected and file_sha256(target) == expected:
                outcome.result, outcome.sha256 = "present", expected
                return outcome
            actual = self._stream(link["url"], target, item.get("size") or 0)
            if expected and actual != expected:
                target.with_name(target.name + ".part").unlink(missing_ok=True)
                outcome.detail = f"SHA-256 mismatch: got {actual}, the vault has {expected}"
                return outcome
            target.with_name(target.name + ".part").replace(target)
            outcome.result, outcome.sha256 = "downloaded", actual
        except CliError as exc:
            outcome.detail = str(exc)
        except OSError as exc:
            outcome.detail = f"cannot write: {exc.strerror or exc}"
        return outcome

    def save(self, url: str, filename: str, label: str) -> Fetched:
        """Download a presigned URL (a share link's original, which comes with no SHA-256 to check against)."""
        outcome = Fetched(label, "error")
        try:
            target = self._target(filename, label, "", keep_existing=True)
            outcome.path = str(target)
            outcome.sha256 = self._stream(url, target, 0)
            target.with_name(target.name + ".part").replace(target)
            outcome.result = "downloaded"
        except CliError as exc:
            outcome.detail = str(exc)
        except OSError as exc:
            outcome.detail = f"cannot write: {exc.strerror or exc}"
        return outcome

    def _stream(self, url: str, target: Path, size: int) -> str:
        """Fill target.part, continuing from what an earlier run left; the SHA-256 of the whole file."""
        partial = target.with_name(target.name + ".part")
        have = partial.stat().st_size if partial.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        task = self.progress.add_task(target.name, total=size or None, phase="get")
        try:
            response = with_retries(
                lambda: self.api.http.get(url, headers=headers, stream=True, timeout=(5, 300)), "storage"
            )
            if response.status_code == 416:  # nothing left to fetch: the part file is already whole
                response.close()
                return file_sha256(partial)
            if response.status_code >= 400:
                raise ApiError(response.status_code, "storage_error", storage_message(response))
            resumed = response.status_code == 206
            mode = "ab" if resumed else "wb"
            self.progress.update(task, completed=have if resumed else 0)
            with partial.open(mode) as out:
                for chunk in response.iter_content(CHUNK):
                    out.write(chunk)
                    self.progress.advance(task, len(chunk))
            return file_sha256(partial)
        finally:
            self.progress.remove_task(task)
