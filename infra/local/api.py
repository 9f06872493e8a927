"""The API on loopback: `chalice local`'s server with API Gateway's authorizer semantics.

`chalice local` lets an authorizer's exception escape as a 500 and answers refusals in its own
body shape. API Gateway answers 401 when a TOKEN authorizer raises "Unauthorized" and renders
refusals through the GatewayResponses in infra/template.yaml; this module mirrors both, reading
those response templates from the template so the two cannot drift.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LambdaContext,
    LocalGateway,
    LocalGatewayAuthorizer,
    LocalGatewayException,
    NotAuthorizedError,
    RouteMatcher,
    ThreadedHTTPServer,
)

from infra.local.docs import docs_response
from infra.local.processes import stop_on_signals
from infra.local.provision import load_template


class ShapedForbidden(ForbiddenError):
    """A 403 whose body is already the gateway response's."""


def gateway_responses(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """ResponseType -> application/json template of the template's GatewayResponses."""
    resources = (template or load_template())["Resources"]
    return {
        r["Properties"]["ResponseType"]: r["Properties"]["ResponseTemplates"]["application/json"]
        for r in resources.values()
        if r.get("Type") == "AWS::ApiGateway::GatewayResponse"
    }


def gateway_headers(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """The headers every GatewayResponse of the template adds (they all carry the same security headers).

    Not its CORS header, which names the deployed console: the local handler adds this stack's console origin.
    """
    resources = (template or load_template())["Resources"]
    headers: dict[str, str] = {}
    for resource in resources.values():
        if resource.get("Type") == "AWS::ApiGateway::GatewayResponse":
            for name, value in (resource["Properties"].get("ResponseParameters") or {}).items():
                header = name.removeprefix("gatewayresponse.header.")
                if not header.lower().startswith("access-control-"):
                    headers[header] = value.strip("'")
    return headers


def cors_headers(template: Mapping[str, Any] | None = None) -> dict[str, str]:
    """What the deployed API's preflight answers besides the origin: the RestAPI's Cors in the template."""
    cors = (template or load_template())["Resources"]["RestAPI"]["Properties"]["Cors"]
    names = {
        "AllowMethods": "Access-Control-Allow-Methods",
        "AllowHeaders": "Access-Control-Allow-Headers",
        "MaxAge": "Access-Control-Max-Age",
    }
    return {header: cors[key].strip("'") for key, header in names.items()}


def render(response_template: str, message: str) -> bytes:
    """Fill $context.error.messageString the way API Gateway does (a quoted JSON string)."""
    return response_template.replace("$context.error.messageString", json.dumps(message)).encode()


class GatewayAuthorizer(LocalGatewayAuthorizer):
    """Authorizer runner that refuses like API Gateway: 401 for a raising authorizer, shaped bodies."""

    def __init__(
        self, app_object: Chalice, responses: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(app_object)
        self._responses = responses
        self._headers = dict(headers or {})

    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: LambdaContext) -> Any:
        """Run the route's authorizer; map every refusal to the deployed gateway's response."""
        headers = {"x-amzn-RequestId": lambda_context.aws_request_id, **self._headers}
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except NotAuthorizedError:
            raise NotAuthorizedError(headers, render(self._responses["UNAUTHORIZED"], "Unauthorized")) from None
        except ForbiddenError:
            body = render(self._responses["ACCESS_DENIED"], "User is not authorized to access this resource")
            raise ShapedForbidden(headers, body) from None
        except LocalGatewayException:
            raise
        except Exception:  # noqa: BLE001 - a raising TOKEN authorizer is API Gateway's 401
            raise NotAuthorizedError(headers, render(self._responses["UNAUTHORIZED"], "Unauthorized")) from None


class Gateway(LocalGateway):
    """LocalGateway with API Gateway's refusals, including 403 for unknown routes."""

    def __init__(self, app_object: Chalice, config: Config, responses: Mapping[str, str] | None = None) -> None:
        super().__init__(app_object, config)
        self._responses = dict(responses or gateway_responses())
        # What the template's gateway responses add to each refusal (the security headers).
        self._headers = gateway_headers() if responses is None else {}
        self._authorizer = GatewayAuthorizer(app_object, self._responses, self._headers)
        self._routes = RouteMatcher(list(app_object.routes))

    def _declares(self, method: str, path: str) -> bool:
        """True when the app has a route for this method on this path (unknown paths are Chalice's to refuse)."""
        try:
            route = self._routes.match_route(path).route
        except ValueError:
            return True
        return method in self._app_object.routes[route]

    def handle_request(self, method: str, path: str, headers: Any, body: bytes | None) -> Any:
        """Serve one request as API Gateway would."""
        try:
            if method != "OPTIONS" and not self._declares(method, path):
                # API Gateway has no 405 (nor 501): a method a resource does not declare is a missing token.
                raise ForbiddenError({}, b"")
            return super().handle_request(method, path, headers, body)
        except ShapedForbidden:
            raise
        except ForbiddenError as exc:
            # Chalice's other 403 is "no such route", which API Gateway calls a missing token.
            body = render(self._responses["MISSING_AUTHENTICATION_TOKEN"], "Missing Authentication Token")
            raise ShapedForbidden({**exc.headers, **self._headers}, body) from None


# The web console's origins (comma-separated; infra/local/stack.py sets it). Local only: the deployed API's
# CORS is API Gateway's (the RestAPI's Cors and the gateway responses in infra/template.yaml).
WEB_ORIGINS_ENV = "MEDIA_VAULT_WEB_ORIGINS"


def web_origins() -> frozenset[str]:
    """Origins allowed to call the local API from a browser."""
    return frozenset(o.strip().rstrip("/") for o in os.environ.get(WEB_ORIGINS_ENV, "").split(",") if o.strip())


def local_config() -> Config:
    """The Chalice config the local API runs with."""
    return Config.create(chalice_stage="local", function_name="api_handler", lambda_timeout=29, lambda_memory_size=512)


class _Handler(ChaliceRequestHandler):
    # Headers and body leave in one buffered write, with Nagle off: otherwise a keep-alive client waits out
    # a delayed ACK (~40 ms) on every response.
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    def __init__(self, request: Any, client_address: Any, server: HTTPServer, gateway: Gateway) -> None:
        self.local_gateway = gateway
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def log_message(self, format: str, *args: Any) -> None:
        """The app logs each request itself (JSON); stay quiet here."""

    def _allowed_origin(self) -> str | None:
        origin = self.headers.get("Origin")
        return origin if origin in self.server_origins else None

    @property
    def server_origins(self) -> frozenset[str]:
        return getattr(self.server, "web_origins", frozenset())

    @property
    def server_cors_headers(self) -> dict[str, str]:
        return getattr(self.server, "cors_headers", {})

    def _send_http_response(self, code: int, headers: Any, body: Any) -> None:
        """Every answer to an allowed console origin carries its CORS header (errors too, so it can show them)."""
        origin = self._allowed_origin()
        if origin is not None:
            headers = {**headers, "Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        super()._send_http_response(code, headers, body)

    def do_OPTIONS(self) -> None:  # noqa: N802
        """A CORS preflight from an allowed console origin; anything else as API Gateway answers it."""
        if self._allowed_origin() is None or "Access-Control-Request-Method" not in self.headers:
            self._generic_handle()
            return
        self._send_http_response(204, dict(self.server_cors_headers), None)

    def __getattr__(self, name: str) -> Any:
        # http.server answers a method it has no do_<METHOD> for (TRACE, QUERY, ...) with a 501 HTML page;
        # API Gateway answers those like any undeclared method, so every method goes through the gateway.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler names its hooks so
        """Interactive docs at /docs (served here, not by the app: they are not part of the Lambda)."""
        docs = docs_response(self.path)
        if docs is None:
            self._generic_handle()
            return
        status, content_type, body = docs
        self._send_http_response(status, {"Content-Type": content_type}, body)


class _Server(ThreadedHTTPServer):
    """Chalice's threaded server with a listen backlog for bursts (http.server's default, 5, lets a burst of
    concurrent connections overflow the accept queue and be reset) and threads that never hold up shutdown."""

    request_queue_size = 128
    daemon_threads = True


def make_server(app_object: Chalice, host: str, port: int) -> ThreadedHTTPServer:
    """An HTTP server for the app on host:port."""
    # One gateway for every connection: it holds no request state, and building it reads the template (~100 ms).
    gateway = Gateway(app_object, local_config())

    def handler(request: Any, client_address: Any, server: HTTPServer) -> _Handler:
        return _Handler(request, client_address, server, gateway)

    server = _Server((host, port), handler)
    server.web_origins = web_origins()
    server.cors_headers = cors_headers()
    return server


def main(argv: list[str] | None = None) -> int:
    """Serve the API until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    from app import app

    server = make_server(app, args.host, args.port)
    stop_on_signals()
    print(f"API serving on http://{args.host}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
