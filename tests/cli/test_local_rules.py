"""What the client decides on its own, without a server: file selection, local names, content types."""

from __future__ import annotations

from pathlib import Path

import pytest
from mediavault_cli.download import safe_name
from mediavault_cli.errors import CliError
from mediavault_cli.upload import collect, content_type_of


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("cat.jpg", "cat.jpg"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a\\b:c*?.png", "a_b_c__.png"),
        ("line\nbreak.jpg", "line_break.jpg"),
        ("..", "ID"),
        ("CON.jpg", "ID_CON.jpg"),
    ],
)
def test_downloaded_names_stay_in_the_folder(name: str, expected: str) -> None:
    assert safe_name(name, "ID") == expected


def test_a_very_long_name_keeps_its_extension() -> None:
    name = safe_name("x" * 400 + ".jpeg", "ID")
    assert len(name.encode()) <= 200 and name.endswith(".jpeg")


def test_folders_are_walked_and_filtered_by_name_or_relative_path(tmp_path: Path) -> None:
    for relative in ("a.jpg", "b.png", "tmp/c.jpg", "deep/er/d.JPG", "notes.txt"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")

    def names(found: list[Path]) -> list[str]:
        return sorted(p.relative_to(tmp_path).as_posix() for p in found)

    assert names(collect([tmp_path], (), ())) == ["a.jpg", "b.png", "deep/er/d.JPG", "notes.txt", "tmp/c.jpg"]
    assert names(collect([tmp_path], ("*.jpg", "*.JPG"), ("tmp/*",))) == ["a.jpg", "deep/er/d.JPG"]
    assert names(collect([tmp_path / "a.jpg", tmp_path], (), ("*.txt",))) == [
        "a.jpg",
        "b.png",
        "deep/er/d.JPG",
        "tmp/c.jpg",
    ]
    with pytest.raises(CliError, match="no such file"):
        collect([tmp_path / "missing"], (), ())


def test_content_types_come_from_the_extension() -> None:
    assert content_type_of(Path("IMG_1.HEIC")) == "image/heic"
    assert content_type_of(Path("clip.mov")) == "video/quicktime"
    assert content_type_of(Path("x.jpg")) == "image/jpeg"
    assert content_type_of(Path("README")) == "application/octet-stream"
