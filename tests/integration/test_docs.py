"""The local API's interactive docs: a page and its own Swagger UI files, pointing at the generated document."""

from __future__ import annotations

import requests

from infra.local.stack import DevStack


def test_docs_page_and_its_assets_are_served_locally(stack: DevStack) -> None:
    page = requests.get(f"{stack.api_url}/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert '"/openapi.json"' in page.text
    assert "http" not in page.text.split("<body>", 1)[1]  # no CDN: every asset comes from this server
    script = requests.get(f"{stack.api_url}/docs/swagger-ui-bundle.js", timeout=10)
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    assert "SwaggerUIBundle" in script.text
    assert requests.get(f"{stack.api_url}/docs/swagger-ui.css", timeout=10).status_code == 200
    assert requests.get(f"{stack.api_url}/docs/../app.py", timeout=10).status_code in (403, 404)
    document = requests.get(f"{stack.api_url}/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.1.0"
