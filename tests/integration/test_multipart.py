"""A large upload over real HTTP: multipart, interrupted after one part, resumed from the part list, completed."""

from __future__ import annotations

import requests

from infra.local.stack import DevStack
from tests.integration.conftest import MIB
from tests.support.http import ApiSession, password_token
from tests.support.images import image_size, photo_bytes


def test_interrupted_multipart_upload_resumes_and_becomes_ready(stack: DevStack) -> None:
    alice = ApiSession(stack.api_url, password_token(stack.issuer, "alice"))
    data = photo_bytes(4200, 3200, seed=3)
    assert len(data) > 5 * MIB, len(data)  # at least two parts
    declared = alice.call("POST", "/uploads", {"filename": "big.jpg", "content_type": "image/jpeg", "size": len(data)})
    assert declared.status_code == 201, declared.text
    ticket = declared.json()
    media_id, plan = ticket["media_id"], ticket["upload"]
    assert plan["method"] == "MULTIPART"
    part_size, count = plan["part_size"], plan["part_count"]
    chunks = {n: data[(n - 1) * part_size : n * part_size] for n in range(1, count + 1)}

    # GIVEN part 1 is sent, then the connection "drops" before the rest.
    urls = {
        p["part_number"]: p["url"]
        for p in alice.call("POST", f"/uploads/{media_id}/parts", {"part_numbers": [1]}).json()["parts"]
    }
    assert requests.put(urls[1], data=chunks[1], timeout=30).status_code == 200

    # WHEN the client comes back, asks what S3 has, and sends only the missing parts.
    held = alice.call("GET", f"/uploads/{media_id}/parts").json()["parts"]
    assert [(p["part_number"], p["size"]) for p in held] == [(1, part_size)]
    missing = [n for n in chunks if n not in {p["part_number"] for p in held}]
    signed = alice.call("POST", f"/uploads/{media_id}/parts", {"part_numbers": missing}).json()["parts"]
    etags = {p["part_number"]: p["etag"] for p in held}
    for part in signed:
        response = requests.put(part["url"], data=chunks[part["part_number"]], timeout=30)
        assert response.status_code == 200
        etags[part["part_number"]] = response.headers["ETag"]
    completed = alice.call(
        "POST",
        f"/uploads/{media_id}/complete",
        {"parts": [{"part_number": n, "etag": e} for n, e in sorted(etags.items())]},
    )
    assert completed.status_code == 200, completed.text

    # THEN the assembled file is processed like any other upload.
    item = alice.wait_for_status(media_id, {"ready", "failed"}, timeout=60)
    assert item["status"] == "ready", item
    assert (item["width"], item["height"], item["size"]) == (4200, 3200, len(data))
    assert max(image_size(requests.get(item["renditions"]["thumbnail"]["url"], timeout=10).content)) == 256
    assert alice.call("GET", f"/uploads/{media_id}/parts").status_code == 409  # the session is over


def test_a_part_of_the_wrong_size_blocks_completion(stack: DevStack) -> None:
    alice = ApiSession(stack.api_url, password_token(stack.issuer, "alice"))
    size = 11 * MIB
    media_id = alice.call("POST", "/uploads", {"filename": "v.mp4", "content_type": "video/mp4", "size": size}).json()[
        "media_id"
    ]
    parts = alice.call("POST", f"/uploads/{media_id}/parts", {"part_numbers": [1, 2, 3]}).json()["parts"]
    etags = {}
    for part in parts:
        body = b"\0" * (part["size"] + (1 if part["part_number"] == 3 else 0))  # the last part is one byte long
        etags[part["part_number"]] = requests.put(part["url"], data=body, timeout=30).headers["ETag"]
    response = alice.call(
        "POST", f"/uploads/{media_id}/complete", {"parts": [{"part_number": n, "etag": e} for n, e in etags.items()]}
    )
    assert response.status_code == 409
    assert "part 3" in response.json()["message"]
    assert alice.call("DELETE", f"/uploads/{media_id}").status_code == 204
