"""Uploading files: hash, declare (duplicates skipped), presigned PUT or resumable multipart, wait for processing."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import mimetypes
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress, TaskID

from mediavault_cli.api import Api, storage_message, with_retries
from mediavault_cli.errors import ApiError, CliError

CHUNK = 1024 * 1024
# How a file below the multipart threshold goes to storage: a PUT whose signed headers pin its type, size and
# SHA-256, streamed from the file (a browser-form POST would cost the emulator ~40% more CPU per byte, and the
# client a copy of every file in memory: tests/perf/test_bench_cli_upload.py).
SINGLE_REQUEST = "PUT"
# The API signs up to 100 part URLs per call, but signed URLs expire: a smaller batch is never stale on a slow link.
PARTS_PER_REQUEST = 20
FINAL_STATUSES = frozenset({"ready", "failed", "rejected"})
FAILED_RESULTS = frozenset({"rejected", "failed", "error"})
# Test hook only: the process dies (as if killed) after this many parts, to exercise resuming.
ENV_EXIT_AFTER_PARTS = "MEDIAVAULT_TEST_EXIT_AFTER_PARTS"

# Declarations go to the API in groups (POST /uploads/batch takes up to 25): the first group is one file, so the first
# send never waits for many hashes, and each next group is twice as large while the senders are busy.
BATCH_FILES = 25
# Files declared ahead of the senders at most: each holds quota and a presigned POST that expires.
DECLARED_AHEAD = 2 * BATCH_FILES
# The declarer hashes the next files on this many threads, at most this many ahead of the one it declares.
HASH_THREADS = 2
HASHED_AHEAD = 8
# Per-file errors in a batch reply carry a code; the status POST /uploads would have answered with it.
STATUS_OF_CODE = {
    "validation_error": 400,
    "payload_too_large": 413,
    "quota_exceeded": 413,
    "unsupported_media_type": 415,
    "too_many_attempts": 429,
}

# Types the API accepts whose extensions the platform's mimetypes table may not know.
EXTRA_TYPES = {".heic": "image/heic", ".heif": "image/heif", ".webp": "image/webp", ".mov": "video/quicktime"}


@dataclass
class Outcome:
    """What became of one file."""

    path: str
    result: str  # ready | duplicate | uploaded | processing | rejected | failed | error
    media_id: str | None = None
    detail: str = ""
    size: int = 0

    @property
    def failed(self) -> bool:
        return self.result in FAILED_RESULTS

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def collect(paths: Iterable[Path], include: tuple[str, ...], exclude: tuple[str, ...]) -> list[Path]:
    """Files named directly, and every file under named folders, filtered by globs on name or relative path."""

    def wanted(relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]

        def matches(globs: tuple[str, ...]) -> bool:
            return any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(relative, g) for g in globs)

        return (not include or matches(include)) and not matches(exclude)

    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += [f for f in sorted(path.rglob("*")) if f.is_file() and wanted(f.relative_to(path).as_posix())]
        elif path.is_file():
            if wanted(path.name):
                found.append(path)
        else:
            raise CliError(f"no such file or folder: {path}")
    return list(dict.fromkeys(p.resolve() for p in found))


def content_type_of(path: Path) -> str:
    """The declared type: the API checks it against the bytes, so a guess from the extension is enough."""
    return EXTRA_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


class _ProgressReader:
    """A file slice requests can stream with a Content-Length (presigned PUTs refuse chunked bodies).

    urllib3 asks for 16 KiB at a time; reads of at least CHUNK mean 64 times fewer reads, sends and progress updates.
    """

    def __init__(self, path: Path, offset: int, length: int, on_read: Callable[[int], None]) -> None:
        self._handle = path.open("rb")
        self._handle.seek(offset)
        self._left = length
        self._length = length
        self._on_read = on_read

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(max(size, CHUNK), self._left)
        if size == 0:
            return b""
        data = self._handle.read(size)
        self._left -= len(data)
        self._on_read(len(data))
        if not self._left:
            self._handle.close()
        return data


def hash_file(path: Path, on_read: Callable[[int], None] | None = None) -> str:
    """The file's SHA-256 (hex), read in CHUNK pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            if on_read is not None:
                on_read(len(chunk))
    return digest.hexdigest()


@dataclass
class Declared:
    """What the batch declarer settled for one file: its checksum and ticket, its error, or (ticket None) that the
    file declares itself: a resumed upload, a copy of bytes met earlier in the run (after that file), a batch
    the API refused, or an API without batches."""

    sha256: str = ""
    ticket: dict[str, Any] | None = None
    error: CliError | None = None
    after: Path | None = None


class BatchDeclarer:
    """Hashes files in order ahead of the senders and declares them in groups with POST /uploads/batch (one
    request instead of one per file); an API without that route (404) gets per-file declarations."""

    def __init__(self, api: Api, files: list[Path], *, force: bool, state_dir: Path) -> None:
        self.api = api
        self.force = force
        self.state_dir = state_dir
        self.requests = 0
        self._files = files
        self._settled: dict[Path, Declared] = {}
        self._claimed = 0
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="declare", daemon=True)

    def start(self) -> BatchDeclarer:
        self._thread.start()
        return self

    def claim(self, path: Path) -> Declared:
        """The file's declaration, once settled (the senders take files in the order given)."""
        with self._changed:
            while path not in self._settled:
                self._changed.wait()
            self._claimed += 1
            self._changed.notify_all()
            return self._settled[path]

    def _settle(self, path: Path, declared: Declared) -> None:
        with self._changed:
            self._settled[path] = declared
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            self._declare_all()
        finally:
            for path in self._files:  # whatever went wrong, no sender waits forever: the rest declare themselves
                if path not in self._settled:
                    self._settle(path, Declared())

    def _declare_all(self) -> None:
        group: list[tuple[Path, dict[str, Any], str]] = []
        first_of: dict[str, Path] = {}
        target = 1
        batches = True
        for index, (path, checksum) in enumerate(self._checksums()):
            with self._changed:
                while index - self._claimed >= DECLARED_AHEAD:
                    self._changed.wait()
            try:
                size, sha256 = checksum.result()
            except OSError:
                self._settle(path, Declared())
                continue
            if not size or not batches or (self.state_dir / f"{sha256}.json").exists():
                self._settle(path, Declared(sha256))
                continue
            if sha256 in first_of:
                # The same bytes again: sent after the first copy is done (then usually a duplicate of it).
                if any(p == first_of[sha256] for p, _, _ in group):
                    batches = self._send(group)
                    group, target = [], min(BATCH_FILES, target * 2)
                self._settle(path, Declared(sha256, after=first_of[sha256]))
                continue
            first_of[sha256] = path
            declaration = {
                "filename": path.name,
                "content_type": content_type_of(path),
                "size": size,
                "sha256": sha256,
                "force": self.force,
                "method": SINGLE_REQUEST,
            }
            group.append((path, declaration, sha256))
            if len(group) >= target:
                batches = self._send(group)
                group, target = [], min(BATCH_FILES, target * 2)
        if group:
            self._send(group)

    def _checksums(self) -> Iterator[tuple[Path, Future[tuple[int, str]]]]:
        """Each file with its (size, SHA-256) being computed, HASHED_AHEAD files ahead on HASH_THREADS threads:
        the next files are hashed while a group is being declared."""

        def checksum(path: Path) -> tuple[int, str]:
            size = path.stat().st_size
            return size, hash_file(path) if size else ""

        pool = ThreadPoolExecutor(max_workers=HASH_THREADS, thread_name_prefix="hash")
        try:
            ahead: deque[tuple[Path, Future[tuple[int, str]]]] = deque()
            for path in self._files:
                ahead.append((path, pool.submit(checksum, path)))
                if len(ahead) > HASHED_AHEAD:
                    yield ahead.popleft()
            while ahead:
                yield ahead.popleft()
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _send(self, group: list[tuple[Path, dict[str, Any], str]]) -> bool:
        """Declare the group; False when the API has no batch route (this group and the rest declare alone)."""
        try:
            self.requests += 1
            reply = self.api.request("POST", "/uploads/batch", json={"files": [d for _, d, _ in group]})
        except ApiError as exc:
            older_api = exc.status in (404, 405) or (exc.status == 403 and "Missing Authentication" in str(exc))
            for path, _, sha256 in group:
                self._settle(path, Declared(sha256) if older_api else Declared(sha256, error=exc))
            return not older_api
        except CliError as exc:
            for path, _, sha256 in group:
                self._settle(path, Declared(sha256, error=exc))
            return True
        for (path, _, sha256), ticket in zip(group, reply["tickets"], strict=True):
            error = ticket.get("error")
            if error is None:
                self._settle(path, Declared(sha256, ticket=ticket))
            elif error.get("code") == "too_many_attempts":
                self._settle(path, Declared(sha256))  # declared alone, with the API client's retries
            else:
                status = STATUS_OF_CODE.get(str(error.get("code")), 400)
                self._settle(path, Declared(sha256, error=ApiError(status, str(error.get("code")), error["message"])))
        return True


class Uploader:
    """Uploads one file at a time per thread; progress goes to a shared Rich Progress.

    At most `transfers` files (or parts) are sent to storage at once; the threads may outnumber them, so that
    hashing, declaring and waiting for processing happen while bytes are on the wire instead of between sends.
    """

    def __init__(
        self,
        api: Api,
        progress: Progress,
        overall: TaskID,
        *,
        wait: bool,
        wait_timeout: float,
        force: bool,
        new_version_of: str | None = None,
        transfers: int = 4,
    ) -> None:
        self.api = api
        self.new_version_of = new_version_of
        self.progress = progress
        self.overall = overall
        self.wait = wait
        self.wait_timeout = wait_timeout
        self.force = force
        self.state_dir = api.profile.state_dir()
        self._parts_sent = 0
        self._parts_lock = threading.Lock()
        self._counted: dict[TaskID, int] = {}
        self._hash_locks: dict[str, threading.Lock] = {}
        self._exit_after = int(os.environ.get(ENV_EXIT_AFTER_PARTS, "0") or 0)
        self._transfers = threading.BoundedSemaphore(transfers)
        self.declarer: BatchDeclarer | None = None
        self._done: dict[Path, threading.Event] = {}

    def declare_ahead(self, files: list[Path]) -> None:
        """Declare new items in groups ahead of the senders (not for a new version: that is one file, alone)."""
        if self.new_version_of is None:
            self._done = {path: threading.Event() for path in files}
            self.declarer = BatchDeclarer(self.api, files, force=self.force, state_dir=self.state_dir).start()

    def upload(self, path: Path) -> Outcome:
        """Upload one file and, unless told not to, wait for its processing."""
        size = path.stat().st_size
        outcome = Outcome(str(path), "error", size=size)
        task = self.progress.add_task(path.name, total=size or 1, phase="hash")
        try:
            # Claimed first, whatever becomes of the file: the declarer runs only so far ahead of the claims.
            declared = self.declarer.claim(path) if self.declarer is not None else None
            if size == 0:
                outcome.detail = "empty file"
                return outcome
            if declared is not None and declared.error is not None:
                raise declared.error
            if declared is not None and declared.after is not None:
                self._done[declared.after].wait()  # the first copy of these bytes goes first
            if declared is not None and declared.sha256:
                sha256 = declared.sha256
            else:
                sha256 = hash_file(path, lambda amount: self.progress.advance(task, amount))
            self.progress.update(task, completed=0, phase="send")
            # Copies of the same bytes in one run go one after the other: once the first is ready, the rest are
            # duplicates instead of parallel uploads of the same content.
            with self._same_bytes(sha256):
                ticket = declared.ticket if declared is not None else None
                media_id, sent = self._send(path, size, sha256, task, ticket)
                outcome.media_id = media_id
                if not sent:
                    outcome.result = "duplicate"
                    return outcome
                outcome.result = "uploaded"
                if self.wait:
                    self.progress.update(task, phase="wait")
                    self._await_processing(outcome)
            return outcome
        except CliError as exc:
            outcome.result, outcome.detail = "error", str(exc)
            return outcome
        except OSError as exc:
            outcome.result, outcome.detail = "error", f"cannot read: {exc.strerror or exc}"
            return outcome
        finally:
            if path in self._done:
                self._done[path].set()
            self.progress.advance(self.overall, size - self._counted.pop(task, 0))
            self.progress.remove_task(task)

    def _same_bytes(self, sha256: str) -> threading.Lock:
        with self._parts_lock:
            return self._hash_locks.setdefault(sha256, threading.Lock())

    def _count(self, task: TaskID, amount: int) -> None:
        """Bytes confirmed by storage count towards the whole run."""
        self._counted[task] = self._counted.get(task, 0) + amount
        self.progress.advance(self.overall, amount)

    def _send(
        self, path: Path, size: int, sha256: str, task: TaskID, ticket: dict[str, Any] | None
    ) -> tuple[str, bool]:
        """(media id, whether bytes were sent): with a ticket the batch declarer got, send; else resume a multipart
        upload this profile started, or declare the file alone."""
        state_path = self.state_dir / f"{sha256}.json"
        if ticket is None and state_path.exists():
            state = json.loads(state_path.read_text(encoding="utf-8"))
            try:
                held = self.api.request("GET", f"/uploads/{state['media_id']}/parts")
            except ApiError as exc:
                if exc.status not in (404, 409):
                    raise
                state_path.unlink(missing_ok=True)  # that session is over (completed, aborted or purged)
            else:
                self._multipart(path, state, held["parts"], state_path, task)
                return state["media_id"], True
        content_type = content_type_of(path)
        declaration: dict[str, Any] = {
            "filename": path.name,
            "content_type": content_type,
            "size": size,
            "sha256": sha256,
            "method": SINGLE_REQUEST,
        }
        if ticket is None and self.new_version_of:
            # A replacement original of an item: the same upload plan, under the item's id.
            ticket = self.api.request("POST", f"/media/{self.new_version_of}/versions", json=declaration)
        elif ticket is None:
            ticket = self.api.request("POST", "/uploads", json={**declaration, "force": self.force})
        if ticket.get("duplicate"):
            return ticket["media_id"], False
        plan = ticket["upload"]
        if plan["method"] == SINGLE_REQUEST:
            self._put_object(path, plan, size, task)
            return ticket["media_id"], True
        if plan["method"] != "MULTIPART":
            raise CliError(f"the API asks for an upload by {plan['method']}, which this client does not send")
        state = {"media_id": ticket["media_id"], "path": str(path), "size": size, **plan}
        self._save_state(state_path, state)
        self._multipart(path, state, [], state_path, task)
        return ticket["media_id"], True

    def _put_object(self, path: Path, plan: dict[str, Any], size: int, task: TaskID) -> None:
        """The whole file in one signed PUT, streamed from disk (storage checks its size, type and SHA-256)."""
        self._put(path, plan["url"], 0, size, task, 0, headers=plan["headers"])
        self._count(task, size)

    def _multipart(
        self, path: Path, state: dict[str, Any], held: list[dict[str, Any]], state_path: Path, task: TaskID
    ) -> None:
        media_id, part_size, count = state["media_id"], state["part_size"], state["part_count"]
        size = state["size"]
        planned = {n: min(part_size, size - (n - 1) * part_size) for n in range(1, count + 1)}
        # What S3 holds is the truth; a part of the wrong size (a torn write) is sent again.
        etags = {p["part_number"]: p["etag"] for p in held if planned.get(p["part_number"]) == p["size"]}
        done = sum(planned[n] for n in etags)
        self.progress.update(task, completed=done)
        self._count(task, done)
        missing = [n for n in planned if n not in etags]
        for start in range(0, len(missing), PARTS_PER_REQUEST):
            batch = missing[start : start + PARTS_PER_REQUEST]
            signed = self.api.request("POST", f"/uploads/{media_id}/parts", json={"part_numbers": batch})
            for part in signed["parts"]:
                number = part["part_number"]
                etags[number] = self._put(path, part["url"], (number - 1) * part_size, part["size"], task, done)
                done += part["size"]
                self._count(task, part["size"])
                state["etags"] = etags
                self._save_state(state_path, state)
                self._maybe_die()
        body = {"parts": [{"part_number": n, "etag": e} for n, e in sorted(etags.items())]}
        self.api.request("POST", f"/uploads/{media_id}/complete", json=body)
        state_path.unlink(missing_ok=True)

    def _put(
        self,
        path: Path,
        url: str,
        offset: int,
        length: int,
        task: TaskID,
        base: int,
        headers: dict[str, str] | None = None,
    ) -> str:
        """PUT length bytes of the file from offset to a presigned URL (at most `transfers` at once); the ETag."""
        sent = 0

        def on_read(amount: int) -> None:
            nonlocal sent
            sent += amount
            self.progress.update(task, completed=base + sent)

        def send() -> Any:
            nonlocal sent
            sent = 0
            reader = _ProgressReader(path, offset, length, on_read)
            return self.api.http.put(url, data=reader, headers=headers, timeout=(5, 300))

        with self._transfers:
            response = with_retries(send, "storage")
        if response.status_code >= 400:
            raise ApiError(response.status_code, "storage_error", storage_message(response))
        return str(response.headers["ETag"])

    def _save_state(self, state_path: Path, state: dict[str, Any]) -> None:
        state_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = state_path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(state), encoding="utf-8")
        os.replace(tmp, state_path)

    def _maybe_die(self) -> None:
        if not self._exit_after:
            return
        with self._parts_lock:
            self._parts_sent += 1
            if self._parts_sent >= self._exit_after:
                os._exit(137)

    def _await_processing(self, outcome: Outcome) -> None:
        deadline = time.monotonic() + self.wait_timeout
        delay = 0.2
        while True:
            item = self.api.request("GET", f"/media/{outcome.media_id}")
            if item["status"] in FINAL_STATUSES:
                outcome.result = item["status"]
                outcome.detail = item.get("failure_reason") or ""
                return
            if time.monotonic() > deadline:
                outcome.result, outcome.detail = "processing", f"still {item['status']} after {self.wait_timeout:.0f} s"
                return
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)
