"""Serve the built web console (clients/web/dist) and its runtime config.json on loopback (local only).

`config.json` is written from the arguments, so one build runs against any stack: the deployed console
gets its own config.json beside the same files. With --content-security-policy every answer carries that policy
(infra/local/stack.py passes the deployed console's, with the local origins in it).
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DIST = Path(__file__).resolve().parent / "dist"
NOT_BUILT = b"<!doctype html><title>Media Vault</title><p>The console is not built: run <code>make install</code>."


class ConsoleHandler(SimpleHTTPRequestHandler):
    """Static files from dist, config.json from memory, index.html for any other path (a single-page app)."""

    config: bytes = b"{}"
    content_security_policy: str | None = None

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the API and identity server logs tell the story."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        if self.content_security_policy:
            self.send_header("Content-Security-Policy", self.content_security_policy)
        super().end_headers()

    def do_GET(self) -> None:
        """config.json, a built file, or the app shell."""
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path == "/config.json":
            self._send(200, "application/json", self.config)
        elif not (DIST / "index.html").is_file():
            self._send(503, "text/html; charset=utf-8", NOT_BUILT)
        elif path != "/" and (DIST / path.lstrip("/")).is_file():
            super().do_GET()
        else:
            self._send(200, "text/html; charset=utf-8", (DIST / "index.html").read_bytes())

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def make_server(
    host: str, port: int, config: dict[str, str], content_security_policy: str | None = None
) -> ThreadingHTTPServer:
    """A server for the console on host:port (port 0 picks a free one)."""
    handler = partial(ConsoleHandler, directory=str(DIST))
    ConsoleHandler.config = json.dumps(config).encode()
    ConsoleHandler.content_security_policy = content_security_policy
    return ThreadingHTTPServer((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--client-id", default="media-vault-web")
    parser.add_argument("--content-security-policy", help="the Content-Security-Policy header to send")
    args = parser.parse_args(argv)
    config = {"apiUrl": args.api_url, "issuer": args.issuer, "clientId": args.client_id}
    server = make_server(args.host, args.port, config, args.content_security_policy)
    print(f"web console on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
