"""The media bucket answers browsers from the configured console origins only (issue 14).

The bucket is provisioned from infra/template.yaml as `make run` provisions it. What moto 5.2 enforces: its server
(the embedded emulator) evaluates the bucket's rules for a preflight to a new key (an upload) and refuses an origin
no rule names with 403; but its HTTP layer (flask-cors) adds Access-Control-Allow-Origin for ANY origin to every
other answer, and it refuses every preflight to an existing key. So preflights are checked over HTTP, and the rule
on plain reads through moto's S3 model in process (botocore, which sends the Origin header a browser would).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws
from moto.server import ThreadedMotoServer

from infra.local.api import cors_headers
from infra.local.provision import Provisioner, load_template, parse_overrides
from tests.conftest import free_port

CONSOLE = "http://127.0.0.1:18090"
SECOND_CONSOLE = "https://console.example.com"
STRANGER = "https://evil.example"


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield url
    finally:
        server.stop()


OVERRIDES = [f"AllowedOrigins={CONSOLE}, {SECOND_CONSOLE}"]


def _provision() -> dict[str, Any]:
    """GIVEN the template's resources provisioned with two console origins, and one stored object."""
    environment = Provisioner(load_template(), "media-vault-cors", parameters=parse_overrides(OVERRIDES)).provision()
    bucket = environment["MEDIA_BUCKET"]
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=bucket, Key="renditions/a/thumb.webp", Body=b"RIFF")
    return {"bucket": bucket, "s3": s3}


@pytest.fixture
def media(emulator: str) -> dict[str, Any]:
    provisioned = _provision()
    return {**provisioned, "upload_url": f"{emulator}/{provisioned['bucket']}/originals/new-upload"}


def _preflight(url: str, origin: str, method: str = "PUT") -> requests.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type",
    }
    return requests.options(url, headers=headers, timeout=10)


def _read_from(s3: Any, bucket: str, origin: str) -> str | None:
    """The Access-Control-Allow-Origin a GET of the stored object from a page on `origin` is answered with."""

    def add_origin(request: Any, **_: Any) -> None:
        request.headers["Origin"] = origin

    s3.meta.events.register("before-sign.s3.GetObject", add_origin)
    try:
        response = s3.get_object(Bucket=bucket, Key="renditions/a/thumb.webp")
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", add_origin)
    headers: dict[str, str] = response["ResponseMetadata"]["HTTPHeaders"]
    return headers.get("access-control-allow-origin")


@pytest.mark.parametrize("origin", [CONSOLE, SECOND_CONSOLE])
def test_a_configured_console_origin_may_upload(media: dict[str, Any], origin: str) -> None:
    # WHEN the console's page preflights an upload
    preflight = _preflight(media["upload_url"], origin)
    # THEN the bucket names that origin (never "*")
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "PUT" in preflight.headers["Access-Control-Allow-Methods"]


def test_another_origin_is_refused_the_upload_preflight(media: dict[str, Any]) -> None:
    # WHEN a page from an origin nobody configured tries the same THEN S3 refuses it, and so does the browser
    preflight = _preflight(media["upload_url"], STRANGER)
    assert preflight.status_code == 403
    assert "AccessForbidden" in preflight.text


def test_reads_are_shared_with_the_configured_origins_only() -> None:
    with mock_aws():
        media = _provision()
        assert _read_from(media["s3"], media["bucket"], CONSOLE) == CONSOLE
        assert _read_from(media["s3"], media["bucket"], SECOND_CONSOLE) == SECOND_CONSOLE
        assert _read_from(media["s3"], media["bucket"], STRANGER) is None


def test_the_provisioned_rule_lists_exactly_the_configured_origins(media: dict[str, Any]) -> None:
    [rule] = media["s3"].get_bucket_cors(Bucket=media["bucket"])["CORSRules"]
    assert rule["AllowedOrigins"] == [CONSOLE, SECOND_CONSOLE]
    assert "*" not in rule["AllowedOrigins"]


def test_the_template_default_is_the_local_console_not_any_origin() -> None:
    template = load_template()
    assert template["Parameters"]["AllowedOrigins"]["Default"] == "http://127.0.0.1:8090"
    [rule] = template["Resources"]["MediaBucket"]["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedOrigins"] == {"Ref": "AllowedOrigins"}


def test_an_unknown_parameter_override_is_refused() -> None:
    with pytest.raises(KeyError, match="AllowedOrigin"):
        Provisioner(load_template(), "media-vault-cors", parameters={"AllowedOrigin": CONSOLE})


def test_the_local_api_preflight_answers_what_the_deployed_one_does() -> None:
    # The local runner reads the RestAPI's Cors: the console's headers, the link password among them.
    headers = cors_headers()
    assert headers["Access-Control-Allow-Headers"] == "Authorization, Content-Type, X-Link-Password"
    assert "DELETE" in headers["Access-Control-Allow-Methods"]
    assert headers["Access-Control-Max-Age"] == "600"
