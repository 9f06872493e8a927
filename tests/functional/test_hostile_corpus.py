"""A hostile corpus, generated on the fly, through upload -> S3 notification -> SQS -> processor.

Every file a user (or an attacker) could put in the vault ends in a state the owner can read: `ready`
with clean renditions, or `rejected`/`failed` with a sentence saying why and nothing left in the
renditions prefix. No binary fixture is committed: each case builds its bytes here.
"""

from __future__ import annotations

import io
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.functional.conftest import ApiClient
from tests.functional.flows import drain, upload
from tests.support.images import image_format, image_size, jpeg_bytes
from tests.support.tokens import TokenFactory

ROOT = Path(__file__).resolve().parents[2]
OWNER = "user-alice"
# Not a performance budget: a guard so that a decoder stuck on hostile bytes fails the test instead of hanging it.
HANG_GUARD_S = 60.0
PEAK_RSS_LIMIT_MB = 512
ZIP_LOCAL_FILE_HEADER = b"PK\x03\x04"


# --- the corpus ---------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_decompression_bomb(side: int = 50_000) -> bytes:
    """A complete, valid 1-bit PNG of side x side (2.5 gigapixels): a ~300 KB file of zlib-packed zeros."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit greyscale, no interlace
    row = b"\0" * (1 + (side + 7) // 8)  # filter byte + packed pixels
    packer = zlib.compressobj(9)
    block = row * 1000
    idat = b"".join(packer.compress(block) for _ in range(side // 1000)) + packer.compress(row * (side % 1000))
    idat += packer.flush()
    png = b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    assert len(png) < 2 * 1024 * 1024
    return png


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR (valid CRC) declares width x height; only a few bytes of pixel data follow."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def jpeg_header_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header (SOF) is rewritten to declare width x height."""
    data = bytearray(jpeg_bytes(16, 16))
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            # SOF: marker, length (2), precision (1), height (2), width (2).
            struct.pack_into(">HH", data, at + 5, height, width)
            return bytes(data)
    raise AssertionError("no SOF marker in the generated JPEG")


def truncated_jpeg() -> bytes:
    """A camera-sized JPEG cut off part-way through its entropy-coded data."""
    whole = jpeg_bytes(1600, 1200, quality=90)
    return whole[: len(whole) * 6 // 10]


@cache
def huge_progressive_jpeg() -> bytes:
    """8000x6000 (48 MP, under the 100 MP cap) progressive JPEG, low quality: a few MB. Built once per session."""
    detail = Image.effect_noise((800, 600), 60).convert("RGB")
    big = detail.resize((8000, 6000), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    big.save(out, format="JPEG", quality=30, progressive=True)
    big.close()
    return out.getvalue()


def jpeg_zip_polyglot() -> bytes:
    """A valid JPEG followed by a zip archive: a JPEG to image readers, a zip to unzip tools."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("payload.html", "<script>alert(document.cookie)</script>")
        bundle.writestr("readme.txt", "hidden inside a photo")
    return jpeg_bytes(900, 600) + archive.getvalue()


def _tiff_ifd(entries: list[tuple[int, int, int, bytes | int]], offset: int) -> bytes:
    """One big-endian IFD at `offset`: 12-byte entries, next-IFD 0, then out-of-line values."""
    body = struct.pack(">H", len(entries))
    extra = b""
    data_at = offset + 2 + 12 * len(entries) + 4
    for tag, kind, count, value in sorted(entries):
        if isinstance(value, int):
            field = struct.pack(">I", value) if kind == 4 else struct.pack(">HH", value, 0)
        elif len(value) <= 4:
            field = value.ljust(4, b"\0")
        else:
            field = struct.pack(">I", data_at + len(extra))
            extra += value + b"\0" * (len(value) % 2)
        body += struct.pack(">HHI", tag, kind, count) + field
    return body + b"\0\0\0\0" + extra


def malformed_exif() -> bytes:
    """EXIF with wrong types, absurd counts, a zero denominator and a GPS IFD pointing past the end.

    Two fields are well-formed (Model, ExposureTime) and must survive. An absurd count is placed last
    in its IFD because Pillow skips every out-of-line tag after one.
    """
    ascii_, short, long_, rational = 2, 3, 4, 5
    model = b"GoodCam\0"
    ifd0_entries: list[tuple[int, int, int, bytes | int]] = [
        (0x010F, short, 1, 42),  # Make as a number
        (0x0110, ascii_, len(model), model),  # Model: well-formed
        (0x0112, short, 1, 77),  # Orientation outside 1..8
        (0x0132, ascii_, 0x7FFFFFFF, struct.pack(">I", 16)),  # DateTime: 2 GB of text
        (0x8769, long_, 1, 0),  # Exif IFD pointer, patched below
        (0x8825, long_, 1, 0xFFFFFF00),  # GPS IFD far past the end of the data
    ]
    exif_at = 8 + len(_tiff_ifd(ifd0_entries, 8))
    ifd0_entries[4] = (0x8769, long_, 1, exif_at)
    exif_entries: list[tuple[int, int, int, bytes | int]] = [
        (0x829A, rational, 1, struct.pack(">II", 1, 250)),  # ExposureTime 1/250: well-formed
        (0x829D, ascii_, 6, b"f/2.8\0"),  # FNumber as text
        (0x8827, ascii_, 7, b"ISO800\0"),  # ISO as text
        (0x9003, long_, 1, 12345),  # DateTimeOriginal as a number
        (0x920A, rational, 1, struct.pack(">II", 35, 0)),  # FocalLength 35/0
        (0xA434, ascii_, 0xFFFFFFF0, struct.pack(">I", 8)),  # LensModel: 4 GB of text
    ]
    tiff = b"MM\0\x2a" + struct.pack(">I", 8) + _tiff_ifd(ifd0_entries, 8) + _tiff_ifd(exif_entries, exif_at)
    return b"Exif\0\0" + tiff + b"\0" * 16


def jpeg_with_malformed_exif() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "teal").save(out, format="JPEG", quality=85, exif=malformed_exif())
    return out.getvalue()


@cache
def _mp4(faststart: bool) -> bytes:
    """A valid 1-second 64x48 H.264 MP4 written with PyAV; with faststart its index (moov) comes first."""
    import av

    with tempfile.TemporaryDirectory(prefix="corpus-") as workdir:
        path = os.path.join(workdir, "clip.mp4")
        options = {"movflags": "+faststart"} if faststart else {}
        with av.open(path, "w", format="mp4", options=options) as out:
            stream = out.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
            for i in range(10):
                frame = av.VideoFrame.from_image(Image.new("RGB", (64, 48), (20 * i, 120, 200 - 10 * i)))
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        return Path(path).read_bytes()


def valid_mp4() -> bytes:
    return _mp4(faststart=True)


def mp4_cut_short() -> bytes:
    """Index first, then the upload stops part-way through the frames."""
    whole = _mp4(faststart=True)
    return whole[: len(whole) * 7 // 10]


def mp4_without_index() -> bytes:
    """Frames first, index last, then the upload stops before the index: no moov at all."""
    whole = _mp4(faststart=False)
    return whole[: whole.find(b"moov") - 4]


def mp4_with_garbage_frames() -> bytes:
    """A well-formed index over frame data replaced by random bytes."""
    whole = bytearray(_mp4(faststart=True))
    at = whole.find(b"mdat")
    (size,) = struct.unpack(">I", whole[at - 4 : at])
    noise = random.Random(7)
    whole[at + 4 : at - 4 + size] = bytes(noise.getrandbits(8) for _ in range(size - 8))
    return bytes(whole)


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9" height="9"/></svg>'
)
HTML = b"<!DOCTYPE html><html><body><script>fetch('/steal?c='+document.cookie)</script></body></html>"
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


@dataclass(frozen=True)
class Case:
    """One corpus file: how to make it, what the client declares, and what the owner must end up seeing."""

    name: str
    make: Callable[[], bytes]
    content_type: str
    status: str
    reason: str = ""  # a phrase the failure reason must contain


REFUSED = [
    Case("zero-byte-file", lambda: b"", "image/jpeg", "rejected", "not a photo or video format"),
    Case("truncated-jpeg", truncated_jpeg, "image/jpeg", "failed", "truncated"),
    Case("png-bomb-50000x50000", png_decompression_bomb, "image/png", "rejected", "pixel limit"),
    Case("jpeg-header-200mp", lambda: jpeg_header_claiming(16_000, 12_500), "image/jpeg", "rejected", "pixel limit"),
    Case("png-header-200mp", lambda: png_header_claiming(16_000, 12_500), "image/png", "rejected", "pixel limit"),
    Case("svg-as-jpeg", lambda: SVG, "image/jpeg", "rejected", "not a photo or video format"),
    Case("html-as-jpeg", lambda: HTML, "image/jpeg", "rejected", "not a photo or video format"),
    Case("pdf-as-jpeg", lambda: PDF, "image/jpeg", "rejected", "not a photo or video format"),
    Case("mp4-as-jpeg", valid_mp4, "image/jpeg", "rejected", "declared image/jpeg but the bytes are video/mp4"),
    Case("mp4-cut-short", mp4_cut_short, "video/mp4", "failed", "truncated"),
    Case("mp4-without-index", mp4_without_index, "video/mp4", "failed", "not a video container the vault can read"),
    Case("mp4-with-garbage-frames", mp4_with_garbage_frames, "video/mp4", "failed", "corrupt"),
]
ACCEPTED = [
    Case("progressive-jpeg-8000x6000", huge_progressive_jpeg, "image/jpeg", "ready"),
    Case("jpeg-zip-polyglot", jpeg_zip_polyglot, "image/jpeg", "ready"),
    Case("jpeg-with-malformed-exif", jpeg_with_malformed_exif, "image/jpeg", "ready"),
    Case("valid-mp4-control", valid_mp4, "video/mp4", "ready"),
]


# --- flows --------------------------------------------------------------------------------------


def put_upload(api: ApiClient, s3: Any, token: str, data: bytes, content_type: str) -> str:
    """Upload through the API. A zero-byte file is declared as 1 byte (the API refuses size 0) and then
    sent empty, as a client could against a store that does not enforce the signed size range."""
    if data:
        return upload(api, s3, token, data, content_type)
    response = api.call("POST", "/uploads", token, {"filename": "empty.jpg", "content_type": content_type, "size": 1})
    assert response.status_code == 201, response.body
    ticket = json.loads(response.body)
    bucket = ticket["upload"]["url"].rstrip("/").rsplit("/", 1)[-1]
    s3.put_object(Bucket=bucket, Key=ticket["upload"]["fields"]["key"], Body=b"", ContentType=content_type)
    return str(ticket["media_id"])


def drain_within(sqs: Any, queue_url: str, seconds: float = HANG_GUARD_S) -> dict[str, Any]:
    """`drain`, failing (instead of hanging the run) if processing does not return within `seconds`."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = drain(sqs, queue_url)
        except BaseException as exc:  # re-raised in the test's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="drain", daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"processing did not return within {seconds:g} s (hang guard)"
    if "error" in outcome:
        raise outcome["error"]
    result: dict[str, Any] = outcome["result"]
    return result


def rendition_versions(s3: Any, bucket: str, media_id: str) -> list[str]:
    """Every stored version (and delete marker) under the item's renditions prefix, as keys."""
    listing = s3.list_object_versions(Bucket=bucket, Prefix=f"renditions/{OWNER}/{media_id}/")
    return [v["Key"] for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]


def assert_human_sentence(reason: Any) -> None:
    """A reason an owner can read: words, not a traceback, an object repr or a server path."""
    assert isinstance(reason, str), reason
    assert len(reason) >= 12 and " " in reason and reason[0].isalpha(), reason
    for leak in ("Traceback", "Error(", "<", tempfile.gettempdir(), "\\x"):
        assert leak not in reason, f"{leak!r} in {reason!r}"


def process_upload(api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], token: str, case: Case) -> dict[str, Any]:
    """Upload the case, let the processor take it (hang-guarded), and read the item as its owner does."""
    media_id = put_upload(api, s3, token, case.make(), case.content_type)
    # A file that ends failed or rejected is a finished message, not one to retry.
    assert drain_within(sqs, aws["PROCESSING_QUEUE_URL"]) == {"batchItemFailures": []}
    response = api.call("GET", f"/media/{media_id}", token)
    assert response.status_code == 200, response.body
    item: dict[str, Any] = json.loads(response.body)
    assert item["media_id"] == media_id
    return item


# --- tests --------------------------------------------------------------------------------------


def test_given_a_zero_byte_declaration_when_uploading_then_the_api_refuses_it(
    api: ApiClient, aws: dict[str, str], tokens: TokenFactory
) -> None:
    body = {"filename": "empty.jpg", "content_type": "image/jpeg", "size": 0}
    response = api.call("POST", "/uploads", tokens.token("alice"), body)
    assert response.status_code == 400
    assert "size" in json.loads(response.body)["message"]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_given_a_hostile_file_when_processed_then_it_ends_refused_with_a_reason_and_no_renditions(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory, case: Case
) -> None:
    item = process_upload(api, s3, sqs, aws, tokens.token("alice"), case)
    assert item["status"] == case.status
    assert_human_sentence(item["failure_reason"])
    assert case.reason in item["failure_reason"]
    assert item["renditions"] == {}
    assert item["placeholder"] is None
    assert rendition_versions(s3, aws["MEDIA_BUCKET"], item["media_id"]) == []


def test_given_a_48_megapixel_progressive_jpeg_when_processed_then_it_is_ready_with_small_renditions(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    item = process_upload(api, s3, sqs, aws, tokens.token("alice"), ACCEPTED[0])
    assert item["status"] == "ready" and item["failure_reason"] is None
    assert (item["width"], item["height"]) == (8000, 6000)
    bucket = aws["MEDIA_BUCKET"]
    preview = s3.get_object(Bucket=bucket, Key=f"renditions/{OWNER}/{item['media_id']}/preview.jpg")["Body"].read()
    thumbnail = s3.get_object(Bucket=bucket, Key=f"renditions/{OWNER}/{item['media_id']}/thumbnail.webp")["Body"].read()
    assert (image_format(preview), image_size(preview)) == ("JPEG", (1440, 1080))
    assert (image_format(thumbnail), image_size(thumbnail)) == ("WEBP", (256, 192))


def test_given_a_jpeg_zip_polyglot_when_processed_then_it_is_ready_and_its_renditions_carry_no_zip(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # The file is a valid JPEG: the vault keeps the owner's original as uploaded, but serves only
    # re-encoded renditions, which must be plain images with nothing after the picture.
    item = process_upload(api, s3, sqs, aws, tokens.token("alice"), ACCEPTED[1])
    assert item["status"] == "ready"
    assert set(item["renditions"]) == {"preview", "thumbnail"}
    bucket = aws["MEDIA_BUCKET"]
    keys = sorted(rendition_versions(s3, bucket, item["media_id"]))
    assert keys == [f"renditions/{OWNER}/{item['media_id']}/{name}" for name in ("preview.jpg", "thumbnail.webp")]
    for key in keys:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        assert ZIP_LOCAL_FILE_HEADER not in data, key
        assert b"<script>" not in data, key
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            assert image.format in ("JPEG", "WEBP")
        assert not zipfile.is_zipfile(io.BytesIO(data)), key


def test_given_a_jpeg_with_malformed_exif_when_processed_then_it_is_ready_and_only_the_bad_fields_are_missing(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    item = process_upload(api, s3, sqs, aws, tokens.token("alice"), ACCEPTED[2])
    assert item["status"] == "ready"
    assert (item["width"], item["height"]) == (640, 480)
    metadata = item["metadata"]
    assert metadata["camera_model"] == "GoodCam"
    assert metadata["exposure_time_text"] == "1/250"
    assert metadata["orientation"] == 1
    for bad in ("camera_make", "f_number", "iso", "focal_length_mm", "lens_model", "taken_at", "gps"):
        assert bad not in metadata, bad
    assert item["taken_at"] is None and item["location"] is None
    assert set(item["renditions"]) == {"preview", "thumbnail"}


def test_given_the_valid_mp4_the_corrupt_ones_come_from_when_processed_then_it_is_ready_with_a_poster(
    api: ApiClient, s3: Any, sqs: Any, aws: dict[str, str], tokens: TokenFactory
) -> None:
    # Control: the video cases fail because of their damage, not because the clip itself is unusable.
    item = process_upload(api, s3, sqs, aws, tokens.token("alice"), ACCEPTED[3])
    assert item["status"] == "ready"
    assert item["kind"] == "video"
    assert "poster" in item["renditions"]
    assert (item["width"], item["height"]) == (64, 48)


# --- peak memory --------------------------------------------------------------------------------

# Runs in a fresh interpreter: moto with the template's resources, the API and the processor, the
# whole corpus uploaded and processed. It prints the outcome per file and its own peak RSS.
_CHILD = """
import json, resource, sys
from pathlib import Path
from tests.functional.test_hostile_corpus import run_corpus_in_moto
statuses = run_corpus_in_moto(Path(sys.argv[1]))
with open("/proc/self/status") as status:
    hwm_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({
    "statuses": statuses,
    "ru_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    "vm_hwm_kb": hwm_kb,
}))
"""

# Linux keeps ru_maxrss across exec: a child spawned straight from this (large) pytest process would
# report pytest's peak. A small launcher in between gives the child a clean count.
_LAUNCHER = """
import subprocess, sys
done = subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], capture_output=True, text=True)
sys.stdout.write(done.stdout)
sys.stderr.write(done.stderr[-4000:])
sys.exit(done.returncode)
"""


def run_corpus_in_moto(corpus_dir: Path) -> dict[str, str]:
    """Process every file of a written-out corpus through the API and processor on moto (child side)."""
    import boto3
    from moto import mock_aws

    from infra.local.provision import Provisioner, load_template
    from tests.functional.conftest import fresh_containers, trust_tokens_of
    from tests.support.tokens import AUDIENCE, ISSUER

    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    tokens = TokenFactory()
    statuses: dict[str, str] = {}
    with mock_aws():
        environment = Provisioner(load_template(), "media-vault-rss").provision()
        os.environ.update(environment)
        os.environ.update({"OIDC_ISSUER": ISSUER, "OIDC_AUDIENCE": AUDIENCE})
        fresh_containers()
        trust_tokens_of(tokens)
        api = ApiClient()
        s3 = boto3.client("s3", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        token = tokens.token("alice")
        for entry in manifest:
            data = (corpus_dir / entry["file"]).read_bytes()
            media_id = put_upload(api, s3, token, data, entry["content_type"])
            del data
            drain(sqs, environment["PROCESSING_QUEUE_URL"])
            statuses[entry["name"]] = json.loads(api.call("GET", f"/media/{media_id}", token).body)["status"]
    return statuses


def test_given_the_whole_corpus_when_one_processor_takes_it_all_then_its_peak_rss_stays_under_512_mb(
    tmp_path: Path,
) -> None:
    cases = REFUSED + ACCEPTED
    manifest = []
    for index, case in enumerate(cases):
        name = f"{index:02d}-{case.name}"
        (tmp_path / name).write_bytes(case.make())
        manifest.append({"name": case.name, "file": name, "content_type": case.content_type})
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    done = subprocess.run(
        [sys.executable, "-c", _LAUNCHER, _CHILD, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["statuses"] == {case.name: case.status for case in cases}
    peak_mb = max(report["ru_maxrss_kb"], report["vm_hwm_kb"]) / 1024
    print(
        f"peak RSS over the corpus: ru_maxrss {report['ru_maxrss_kb'] / 1024:.0f} MB,"
        f" VmHWM {report['vm_hwm_kb'] / 1024:.0f} MB"
    )
    assert peak_mb <= PEAK_RSS_LIMIT_MB
