"""`make run`: the whole system on loopback, started in order and stopped together.

emulator (:4566) and DynamoDB (:4567) -> resources from infra/template.yaml -> identity server (:8080)
-> API (:8000) -> workers (processing, analysis, notifications, maintenance, the recorder).
Ctrl-C (or SIGTERM) stops every process it started.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from infra.local import localstack
from infra.local.processes import die_with_parent, stop_on_signals
from infra.local.provision import load_template

ROOT = Path(__file__).resolve().parents[2]
REALM = "media-vault"


def wait_for_http(url: str, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll url until it answers (any HTTP status) or timeout; fail fast if process exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited with {process.returncode} before {url} answered") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.1)


@dataclass(frozen=True)
class Ports:
    """Loopback ports of the local stack."""

    emulator: int = 4566
    identity: int = 8080
    api: int = 8000
    dynamodb: int = 4567  # moto serving DynamoDB alone (beside the emulator, or LocalStack, which cannot run it here)
    web: int | None = None  # the web console (clients/web/serve.py); None: not served. `make run` serves it on 8090


class DevStack:
    """Starts and stops the local system as child processes."""

    def __init__(
        self,
        ports: Ports = Ports(),
        *,
        emulator: str = "moto",
        host: str = "127.0.0.1",
        log_dir: Path | None = None,
        stack_name: str = "media-vault-local",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.ports = ports
        self.emulator = emulator
        self.host = host
        self.log_dir = log_dir
        self.stack_name = stack_name
        self._extra_env = extra_env or {}
        self._children: list[tuple[str, subprocess.Popen[bytes], IO[bytes] | None]] = []
        self.env: dict[str, str] = {}
        # The API's deferred records (audit entries, counts) are spooled here for the recorder worker.
        self._spool = tempfile.TemporaryDirectory(prefix="media-vault-records-")

    @property
    def api_url(self) -> str:
        """Base URL of the API."""
        return f"http://{self.host}:{self.ports.api}"

    @property
    def issuer(self) -> str:
        """The realm URL (token issuer)."""
        return f"http://{self.host}:{self.ports.identity}/realms/{REALM}"

    @property
    def web_url(self) -> str:
        """The web console's origin."""
        return f"http://{self.host}:{self.ports.web}"

    @property
    def emulator_url(self) -> str:
        """The AWS emulator's endpoint."""
        return f"http://{self.host}:{self.ports.emulator}"

    @property
    def dynamodb_url(self) -> str:
        """DynamoDB's endpoint (a moto process of its own)."""
        return f"http://{self.host}:{self.ports.dynamodb}"

    @contextmanager
    def paused(self, *names: str) -> Iterator[None]:
        """Hold these children still (SIGSTOP) for the block, then let them go on (SIGCONT).

        Benchmarks use it to time a client alone on a small machine: the queue keeps what arrives meanwhile.
        """
        held = self.pause(*names)
        try:
            yield
        finally:
            for process in held:
                process.send_signal(signal.SIGCONT)

    def pause(self, *names: str) -> list[subprocess.Popen[bytes]]:
        """Hold these children still (SIGSTOP) until SIGCONT or stop(); the processes held."""
        unknown = set(names) - {name for name, _, _ in self._children}
        if unknown:
            raise ValueError(f"no such process in the stack: {sorted(unknown)}")
        held = [process for name, process, _ in self._children if name in names and process.poll() is None]
        for process in held:
            process.send_signal(signal.SIGSTOP)
        return held

    def _spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.log_dir / f"{name}.log", "ab") if self.log_dir else None  # noqa: SIM115 - closed in stop()
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            preexec_fn=die_with_parent,
        )
        self._children.append((name, process, log))
        return process

    def _base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_ENDPOINT_URL": self.emulator_url,
                "STAGE": "local",
                "OIDC_ISSUER": self.issuer,
                # The dev identity server's service-account secret (infra/identity/users.json; dev only).
                "KEYCLOAK_ADMIN_CLIENT_SECRET": "dev-admin-secret",
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_METRICS_DISABLED": env.get("POWERTOOLS_METRICS_DISABLED", "true"),
                "POWERTOOLS_LOG_LEVEL": env.get("POWERTOOLS_LOG_LEVEL", "INFO"),
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": str(ROOT),
            }
        )
        if self.ports.web is not None:
            # The console's origin: the identity server's redirects and CORS, and the local API's CORS.
            env["MEDIA_VAULT_WEB_ORIGINS"] = self.web_url
        env["RECORD_DELIVERY"] = f"file:{Path(self._spool.name) / 'records.jsonl'}"
        # DynamoDB is its own moto process beside either emulator: LocalStack cannot run one here, and beside moto's
        # S3 it keeps table work (moto answers an index query by reading every item) off the interpreter that
        # receives the uploads' bytes.
        env["AWS_ENDPOINT_URL_DYNAMODB"] = self.dynamodb_url
        env.update(self._extra_env)
        return env

    def start(self) -> DevStack:
        """Start everything; return when the API and identity server answer."""
        self.env = self._base_env()
        try:
            if self.emulator not in ("moto", "localstack"):
                raise ValueError(f"unknown emulator {self.emulator!r} (moto or localstack)")
            dynamodb = self._spawn(
                "dynamodb", "-m", "infra.local.emulator", "--host", self.host, "--port", str(self.ports.dynamodb)
            )
            if self.emulator == "moto":
                process = self._spawn(
                    "emulator", "-m", "infra.local.emulator", "--host", self.host, "--port", str(self.ports.emulator)
                )
                wait_for_http(f"{self.emulator_url}/moto-api/", process=process)
            else:
                # Already started (make localstack): S3, SQS and STS must be ready, not just the port answering.
                localstack.wait_healthy(localstack.health_url(self.host, self.ports.emulator), timeout=5)
            wait_for_http(f"{self.dynamodb_url}/moto-api/", process=dynamodb)
            command = [sys.executable, "-m", "infra.local.provision", "--stack-name", self.stack_name]
            if self.emulator == "localstack":
                command += ["--localstack-host", f"{self.host}:{self.ports.emulator}"]
            if self.ports.web is not None:
                # The media bucket's CORS names this stack's console, whatever port it was given.
                command += ["--parameter-overrides", f"AllowedOrigins={self.web_url}"]
            provisioned = subprocess.run(
                command,
                cwd=ROOT,
                env=self.env,
                check=False,
                capture_output=True,
                text=True,
            )
            if provisioned.returncode != 0:
                raise RuntimeError(f"provisioning the local resources failed:\n{provisioned.stderr[-4000:]}")
            self.env.update(json.loads(provisioned.stdout))
            if self.ports.web is not None and "CONSOLE_URL" not in self._extra_env:
                # Notification emails link to the console this stack serves, whatever port it was given.
                self.env["CONSOLE_URL"] = self.web_url
            identity = self._spawn(
                "identity", "-m", "infra.identity.server", "--host", self.host, "--port", str(self.ports.identity)
            )
            api = self._spawn("api", "-m", "infra.local.api", "--host", self.host, "--port", str(self.ports.api))
            self._spawn("worker", "-m", "infra.local.worker", "--function", "processor")
            self._spawn("analyzer", "-m", "infra.local.worker", "--function", "analyzer")
            self._spawn("notifier", "-m", "infra.local.worker", "--function", "notifier")
            self._spawn("maintainer", "-m", "infra.local.worker", "--function", "maintainer")
            self._spawn("recorder", "-m", "infra.local.worker", "--function", "recorder")
            web = None
            if self.ports.web is not None:
                web = self._spawn(
                    "web", "clients/web/serve.py", "--host", self.host, "--port", str(self.ports.web),
                    "--api-url", self.api_url, "--issuer", self.issuer,
                    "--content-security-policy", self.console_content_security_policy(),
                )  # fmt: skip
            wait_for_http(f"{self.issuer}/.well-known/openid-configuration", process=identity)
            wait_for_http(f"{self.api_url}/health", process=api)
            if web is not None:
                wait_for_http(f"{self.web_url}/config.json", process=web)
        except BaseException:
            self.stop()
            raise
        return self

    def console_content_security_policy(self) -> str:
        """The deployed console's Content-Security-Policy (infra/template.yaml) with this stack's origins in it."""
        media = f"{self.emulator_url}/{self.env['MEDIA_BUCKET']}"
        return content_security_policy(
            api_origin=self.api_url,
            identity_origin=f"http://{self.host}:{self.ports.identity}",
            media_sources=f"{media} {media}/",
        )

    def stop(self) -> None:
        """Stop every child, newest first (workers before the emulator they poll): SIGTERM, then SIGKILL."""
        for _, process, log in reversed(self._children):
            if process.poll() is None:
                process.terminate()
                process.send_signal(signal.SIGCONT)  # a paused child acts on SIGTERM only once it runs again
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if log:
                log.close()
        self._children.clear()

    def failed_children(self) -> list[str]:
        """Names of children that exited on their own."""
        return [name for name, process, _ in self._children if process.poll() is not None]

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def content_security_policy(api_origin: str, identity_origin: str, media_sources: str) -> str:
    """The template's console Content-Security-Policy with these sources in place of the deployed ones."""
    [policy] = [
        resource["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]["ContentSecurityPolicy"]
        for resource in load_template()["Resources"].values()
        if resource.get("Type") == "AWS::CloudFront::ResponseHeadersPolicy"
    ]
    text = str(policy["ContentSecurityPolicy"]["Fn::Sub"][0])
    values = {"ApiOrigin": api_origin, "IdentityOrigin": identity_origin, "MediaSources": media_sources}
    return re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], text)


QUICKSTART = """
Media Vault is running ({emulator}):
  console    {web}        (sign in as a demo user)
  API        {api}        (GET {api}/health, {api}/openapi.json)
  identity   {issuer}
  emulator   {emulator_url}   DynamoDB {dynamodb_url}
Demo users (password = username): alice, bob (user) - pat (partner, acme) - gina (partner, globex) - ada (admin)

  TOKEN=$(curl -s -d grant_type=password -d client_id=media-vault-web -d username=alice -d password=alice \\
      {issuer}/protocol/openid-connect/token | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
  curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
      -d '{{"filename": "cat.jpg", "content_type": "image/jpeg", "size": 123456}}' {api}/uploads
  # POST the returned upload.fields plus file=@cat.jpg to upload.url (curl -F k=v ... -F file=@cat.jpg URL), then:
  curl -s -H "Authorization: Bearer $TOKEN" {api}/media/<media_id>

Ctrl-C stops everything.
"""


def main(argv: list[str] | None = None) -> int:
    """Run the stack in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulator", choices=("moto", "localstack"), default=os.environ.get("EMULATOR", "moto"))
    args = parser.parse_args(argv)
    started = time.monotonic()
    stack = DevStack(Ports(web=8090), emulator=args.emulator)
    # Ctrl-C and SIGTERM both stop everything (a backgrounded `make run` inherits SIGINT ignored).
    stop_on_signals()
    try:
        stack.start()
        print(
            QUICKSTART.format(
                emulator=args.emulator,
                web=stack.web_url,
                api=stack.api_url,
                issuer=stack.issuer,
                emulator_url=stack.emulator_url,
                dynamodb_url=stack.dynamodb_url,
            )
            + f"(ready in {time.monotonic() - started:.1f} s)",
            flush=True,
        )
        while not stack.failed_children():
            time.sleep(0.5)
        print(f"stopping: {', '.join(stack.failed_children())} exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
