"""LocalStack on loopback: the official image when a Docker engine answers, else host mode.

Host mode runs `.venv-localstack` (Python 3.13, pins in infra/local/localstack-requirements.txt)
as `python -m localstack.runtime.main`. It is configured so it never touches the network or the
repository: S3/SQS/STS only, no analytics, no DNS server, no certificate download, every
directory LocalStack writes under a per-run temporary root that is deleted on stop. Only its
service catalog index (built on first start, ~3 s) is kept in the git-ignored `.local/` so
later starts take ~2 s instead of ~5-6 s.

`S3_SKIP_SIGNATURE_VALIDATION=0` makes S3 enforce presigned PUT signatures and expiry and the
presigned POST policy's size, Content-Type, key and expiry conditions (not the POST signature).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from localstack_client import config as localstack_client_config
from localstack_client.session import Session as LocalStackClientSession

from infra.local.processes import die_with_parent, stop_on_signals

ROOT = Path(__file__).resolve().parents[2]
HOST_PYTHON = ROOT / ".venv-localstack" / "bin" / "python"
CATALOG_CACHE = ROOT / ".local" / "localstack" / "cache"
# 4.14.0 is the last image that starts without a LOCALSTACK_AUTH_TOKEN: from 2026.03 the
# localstack/localstack image needs one. LOCALSTACK_IMAGE overrides (pass the token yourself).
DOCKER_IMAGE = "localstack/localstack:4.14.0"
SERVICES = ("s3", "sqs", "sts", "ses")
_READY_STATES = {"running", "available"}


def health_url(host: str = "127.0.0.1", port: int = 4566) -> str:
    """LocalStack's health endpoint."""
    return f"http://{host}:{port}/_localstack/health"


def aws_session(localstack_host: str, region: str = "us-east-1") -> LocalStackClientSession:
    """A localstack_client session whose boto3 clients go to the LocalStack at localstack_host ("host:port")."""
    endpoint = localstack_client_config.get_service_endpoint("s3", localstack_host)
    # localstack_client sends every client to $AWS_ENDPOINT_URL when that is set, whatever host it is given.
    if endpoint != f"http://{localstack_host}":
        raise RuntimeError(
            f"localstack_client would send clients to {endpoint}, not to LocalStack at {localstack_host}"
        )
    # The credentials every process of the local stack uses: LocalStack files all it creates under one account.
    return LocalStackClientSession(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=region, localstack_host=localstack_host
    )


def localstack_env(host: str, port: int, filesystem_root: Path | None = None) -> dict[str, str]:
    """The LocalStack configuration Media Vault runs with (shared by host and Docker mode)."""
    env = {
        "SERVICES": ",".join(SERVICES),
        "EAGER_SERVICE_LOADING": "1",  # "ready" means S3/SQS/STS answer, not "will load on first call"
        "S3_SKIP_SIGNATURE_VALIDATION": "0",  # enforce presigned URLs and POST policies
        # URLs LocalStack hands out (queue URLs, ...) must resolve offline: no *.localstack.cloud.
        "LOCALSTACK_HOST": f"{host}:{port}",
        "SQS_ENDPOINT_STRATEGY": "path",
        "DISABLE_EVENTS": "1",  # no analytics / usage events
        "SKIP_SSL_CERT_DOWNLOAD": "1",  # self-signed cert generated locally instead of a download
        "DNS_ADDRESS": "0",  # no DNS server (it would bind :53 and forward upstream)
    }
    if filesystem_root is not None:  # host mode only
        env.update(
            {
                "GATEWAY_LISTEN": f"{host}:{port}",
                # This machine may itself be a container (/.dockerenv): without the override
                # LocalStack would pick container paths (/var/lib/localstack, /etc/localstack)
                # and ping the Docker bridge. Host mode puts every directory under FILESYSTEM_ROOT.
                "OVERRIDE_IN_DOCKER": "0",
                "FILESYSTEM_ROOT": str(filesystem_root),
                "CONFIG_DIR": str(filesystem_root / "config"),
                "PERSISTENCE": "0",
            }
        )
    return env


def docker_available() -> bool:
    """True when a Docker engine answers `docker info`."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=15, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def health(url: str) -> dict[str, Any] | None:
    """LocalStack's health document, or None when nothing (or not LocalStack) answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            document = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return document if isinstance(document, dict) and "services" in document else None


def wait_healthy(
    url: str,
    timeout: float = 60.0,
    *,
    services: Iterable[str] = SERVICES,
    process: subprocess.Popen[bytes] | None = None,
) -> dict[str, Any]:
    """Poll the health URL until every named service is running/available; fail fast if process exits."""
    wanted = tuple(services)
    deadline = time.monotonic() + timeout
    while True:
        document = health(url)
        if document is not None and all(document["services"].get(s) in _READY_STATES for s in wanted):
            return document
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with {process.returncode} before {url} was healthy")
        if time.monotonic() > deadline:
            state = {s: (document or {}).get("services", {}).get(s) for s in wanted}
            raise TimeoutError(f"LocalStack at {url} not healthy within {timeout:.0f} s (services: {state})")
        time.sleep(0.1)


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        # As servers do: a port whose last connections are in TIME_WAIT is free to listen on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _own_session_and_die_with_parent() -> None:
    """In the child: its own process group (stopped as a whole), SIGTERM if the parent dies."""
    os.setsid()
    die_with_parent()


class LocalStackProcess(subprocess.Popen[bytes]):
    """A running LocalStack (host process or `docker run`) that stop() removes without leftovers.

    `url` is its health endpoint; the AWS endpoint is http://{host}:{port}.
    """

    def __init__(
        self,
        args: list[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log: IO[bytes] | None,
        host: str,
        port: int,
        mode: str,
        filesystem_root: Path | None = None,
        container: str | None = None,
        catalog_cache: Path | None = None,
    ) -> None:
        super().__init__(
            args,
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            preexec_fn=_own_session_and_die_with_parent,
        )
        self.host = host
        self.port = port
        self.url = health_url(host, port)
        self.mode = mode
        self.filesystem_root = filesystem_root
        self.container = container
        self._catalog_cache = catalog_cache
        self._log = log

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the whole process group, SIGKILL it after timeout; remove the temporary root."""
        try:
            if self.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGTERM)
                try:
                    self.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.pid, signal.SIGKILL)
                    self.wait()
            if self.container:
                subprocess.run(["docker", "rm", "-f", self.container], capture_output=True, timeout=30, check=False)
        finally:
            self._keep_catalog()
            if self.filesystem_root is not None:
                shutil.rmtree(self.filesystem_root, ignore_errors=True)
            if self._log is not None:
                self._log.close()

    def _keep_catalog(self) -> None:
        """Save the service catalog index LocalStack built, atomically, for the next start."""
        if self.filesystem_root is None or self._catalog_cache is None:
            return
        for built in _cache_dir(self.filesystem_root).glob("service-catalog-*.dill"):
            target = self._catalog_cache / built.name
            if target.exists():
                continue
            with contextlib.suppress(OSError):
                self._catalog_cache.mkdir(parents=True, exist_ok=True)
                partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
                shutil.copyfile(built, partial)
                os.replace(partial, target)


def _cache_dir(filesystem_root: Path) -> Path:
    return filesystem_root / "var" / "lib" / "localstack" / "cache"


def start_localstack(
    port: int = 4566,
    host: str = "127.0.0.1",
    log_path: Path | None = None,
    *,
    docker: bool | None = None,
    catalog_cache: Path | None = CATALOG_CACHE,
) -> LocalStackProcess:
    """Start LocalStack on host:port and return at once (call wait_healthy before using it).

    docker=None uses the image when a Docker engine answers, else host mode. Stop it with
    `.stop()`: the process group is terminated and the temporary filesystem root removed.
    """
    if not _port_free(host, port):
        raise RuntimeError(f"{host}:{port} is already in use")
    use_docker = docker_available() if docker is None else docker
    log = open(log_path, "ab") if log_path else None  # noqa: SIM115 - closed by stop()
    filesystem_root: Path | None = None
    try:
        if use_docker:
            container = f"media-vault-localstack-{port}"
            image = os.environ.get("LOCALSTACK_IMAGE", DOCKER_IMAGE)
            env_flags = [
                flag for name, value in localstack_env(host, port).items() for flag in ("-e", f"{name}={value}")
            ]
            if os.environ.get("LOCALSTACK_AUTH_TOKEN"):
                env_flags += ["-e", "LOCALSTACK_AUTH_TOKEN"]  # forwarded from our environment, not argv
            args = ["docker", "run", "--rm", "--name", container, "-p", f"{host}:{port}:4566", *env_flags, image]
            return LocalStackProcess(
                args, env=os.environ, cwd=ROOT, log=log, host=host, port=port, mode="docker", container=container
            )
        if not HOST_PYTHON.exists():
            raise FileNotFoundError(f"{HOST_PYTHON} is missing: run `make localstack` (or `make test`) to install it")
        filesystem_root = Path(tempfile.mkdtemp(prefix="media-vault-localstack-"))
        if catalog_cache is not None and catalog_cache.is_dir():
            cache = _cache_dir(filesystem_root)
            cache.mkdir(parents=True)
            for saved in catalog_cache.glob("service-catalog-*.dill"):
                shutil.copyfile(saved, cache / saved.name)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"PYTHONPATH", "PYTHONHOME", "LOCALSTACK_CLI", "VIRTUAL_ENV"}
        }
        env.update(localstack_env(host, port, filesystem_root))
        env["PYTHONUNBUFFERED"] = "1"
        return LocalStackProcess(
            [str(HOST_PYTHON), "-m", "localstack.runtime.main"],
            env=env,
            cwd=filesystem_root,  # `-m` puts the cwd on sys.path: keep the repo's packages out of it
            log=log,
            host=host,
            port=port,
            mode="host",
            filesystem_root=filesystem_root,
            catalog_cache=catalog_cache,
        )
    except BaseException:
        if log is not None:
            log.close()
        if filesystem_root is not None:
            shutil.rmtree(filesystem_root, ignore_errors=True)
        raise


def main(argv: list[str] | None = None) -> int:
    """Run LocalStack in the foreground until Ctrl-C / SIGTERM (exit 0 if one already answers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4566)
    parser.add_argument("--host", default="127.0.0.1")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--docker", dest="docker", action="store_true", default=None, help="force the Docker image")
    mode.add_argument("--host-mode", dest="docker", action="store_false", help="force host mode (.venv-localstack)")
    args = parser.parse_args(argv)

    url = health_url(args.host, args.port)
    existing = health(url)
    if existing is not None:
        print(f"LocalStack {existing.get('version', '?')} already answers at {url}: not starting another.")
        return 0
    # Explicit, so Ctrl-C works even when started from a shell that ignores SIGINT in background jobs.
    stop_on_signals()
    started = time.monotonic()
    process: LocalStackProcess | None = None
    try:
        process = start_localstack(args.port, args.host, docker=args.docker)
        # The first Docker start may pull the image.
        wait_healthy(url, timeout=600 if process.mode == "docker" else 120, process=process)
        print(
            f"LocalStack ready at http://{args.host}:{args.port} ({process.mode} mode, "
            f"{', '.join(SERVICES)}) in {time.monotonic() - started:.1f} s. Ctrl-C stops it.",
            flush=True,
        )
        process.wait()
        print(f"LocalStack exited with {process.returncode}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, TimeoutError, FileNotFoundError) as exc:
        print(f"LocalStack failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if process is not None:
            process.stop()


if __name__ == "__main__":
    sys.exit(main())
