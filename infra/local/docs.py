"""Interactive API docs for the local API: Swagger UI from a dev-only package's own files, no CDN, never in a Lambda."""

from __future__ import annotations

import mimetypes
from pathlib import Path

DOCS_PATH = "/docs"
_ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png")
_PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>Media Vault API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
      layout: "StandaloneLayout"
    });
  </script>
</body>
</html>
"""


def _assets_dir() -> Path:
    # Imported here: the package is a development dependency (requirements-dev.txt) and the API never loads it.
    from openapi_ui_bundles import swagger_ui

    return Path(swagger_ui.static_path)


def docs_response(path: str) -> tuple[int, str, bytes] | None:
    """(status, content type, body) for a /docs request; None for any other path."""
    path = path.split("?", 1)[0]
    if path in (DOCS_PATH, f"{DOCS_PATH}/"):
        return 200, "text/html; charset=utf-8", _PAGE
    if not path.startswith(f"{DOCS_PATH}/"):
        return None
    name = path[len(DOCS_PATH) + 1 :]
    if name not in _ASSETS:
        return 404, "text/plain; charset=utf-8", b"not found"
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return 200, content_type, (_assets_dir() / name).read_bytes()
