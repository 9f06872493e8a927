"""What a file really is, from its first bytes (never from its name or the client's word)."""

from __future__ import annotations

# ISO-BMFF major brands: HEIF stills, then the video brands the vault accepts.
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif"}
_QUICKTIME_BRANDS = {b"qt  "}
_MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"M4V ",
    b"mmp4",
    b"MSNV",
}

SNIFF_BYTES = 64


def sniff(head: bytes) -> str:
    """The content type the bytes announce, or "" when they are none of the vault's formats."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"avif":
            return ""  # AVIF stills are not on the allowlist
        if brand in _HEIF_BRANDS:
            return "image/heic" if brand in (b"heic", b"heix", b"heim", b"heis") else "image/heif"
        if brand in _QUICKTIME_BRANDS:
            return "video/quicktime"
        if brand in _MP4_BRANDS:
            return "video/mp4"
        return ""
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        # EBML: Matroska or WebM; the DocType says which (WebM only).
        return "video/webm" if b"webm" in head[:SNIFF_BYTES] else ""
    return ""


def same_family(declared: str, sniffed: str) -> bool:
    """True when the bytes are what was declared (HEIC and HEIF, MP4 and MOV are the same family)."""
    families = ({"image/heic", "image/heif"}, {"video/mp4", "video/quicktime"})
    if declared == sniffed:
        return True
    return any(declared in family and sniffed in family for family in families)
