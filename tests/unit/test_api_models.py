"""The API's request models: what a declaration, an edit, a listing query and a settings change accept."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from functions.api.models.media import DetailEdit, Listing
from functions.api.models.settings import SettingsUpdate
from functions.api.models.uploads import UploadDeclaration
from shared.domain.ports import SortField
from shared.domain.uploads import UploadRequest

GOOD = {"filename": "cat.jpg", "content_type": "image/jpeg", "size": 500}


def _fields(error: pydantic.ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in error.errors()}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content_type": "image/jpeg", "size": 1}, "filename"),
        ({"filename": "a.jpg", "size": 1}, "content_type"),
        ({"filename": "a.jpg", "content_type": "image/jpeg"}, "size"),
        ({**GOOD, "size": "12"}, "size"),
        ({**GOOD, "size": True}, "size"),
        ({**GOOD, "size": 0}, "size"),
        ({**GOOD, "size": -5}, "size"),
        ({**GOOD, "key": "x"}, "key"),
        ({**GOOD, "sha256": "abc"}, "sha256"),
        ({**GOOD, "filename": "x" * 1025}, "filename"),
    ],
)
def test_bad_declarations_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        UploadDeclaration.model_validate_json(pydantic.TypeAdapter(dict).dump_json(body))
    assert field in _fields(caught.value)


def test_a_declaration_is_normalised_into_the_domain_request() -> None:
    body = {**GOOD, "content_type": " IMAGE/JPEG ", "sha256": "AB" * 32}
    request = UploadDeclaration.model_validate_json(pydantic.TypeAdapter(dict).dump_json(body)).to_domain()
    assert request == UploadRequest("cat.jpg", "image/jpeg", 500, "ab" * 32, False)


@pytest.mark.parametrize(
    ("given", "created_from"),
    [
        ("2024-07-14", "2024-07-14T00:00:00+00:00"),
        ("2024-07-14T21:00:00+02:00", "2024-07-14T19:00:00+00:00"),
        ("2024-07-14T19:00:00Z", "2024-07-14T19:00:00+00:00"),
    ],
)
def test_creation_bounds_are_utc_instants(given: str, created_from: str) -> None:
    assert Listing.model_validate({"created_from": given}).listing(trashed=False).created_from == created_from


@pytest.mark.parametrize("given", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "1899-12-31", "x" * 50])
def test_dates_outside_1900_to_2200_or_unparseable_are_refused(given: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        Listing.model_validate({"created_from": given})
    with pytest.raises(pydantic.ValidationError):
        Listing.model_validate({"taken_to": given})


def test_a_listing_query_maps_to_the_domain_query() -> None:
    listing = Listing.model_validate({"sort": "taken", "order": "asc", "tag": " Beach ", "q": " Étretat", "limit": "7"})
    query = listing.listing(trashed=True)
    assert (query.sort, query.descending, query.tag, query.text, query.trashed) == (
        SortField.TAKEN,
        False,
        "beach",
        "étretat",
        True,
    )
    assert listing.limit == 7


def test_an_edit_keeps_absent_fields_and_clears_taken_at_with_null() -> None:
    edit = DetailEdit.model_validate_json(b'{"version": 3, "taken_at": null, "tags": ["A", "a", " b "]}')
    changes = edit.to_domain()
    assert (edit.version, changes.title, changes.taken_at_override, changes.tags) == (3, None, "", ("a", "b"))
    untouched = DetailEdit.model_validate_json(b'{"version": 3, "title": " t "}').to_domain()
    assert (untouched.title, untouched.taken_at_override, untouched.location_visible) == ("t", None, None)
    with pytest.raises(pydantic.ValidationError, match="nothing to change"):
        DetailEdit.model_validate_json(b'{"version": 3}')


def test_a_settings_change_names_its_version_and_only_what_it_changes() -> None:
    assert SettingsUpdate.model_validate_json(b'{"version": 2, "auto_describe": false}').values() == {
        "auto_describe": False
    }
    change = SettingsUpdate.model_validate_json(
        b'{"version": 0, "moderation_threshold": 1, "allowed_content_types": ["image/png", "image/png"]}'
    )
    assert change.values() == {"moderation_threshold": 1.0, "allowed_content_types": ("image/png",)}
    for raw in (
        b'{"version": 0, "moderation_threshold": NaN}',
        b'{"version": 0, "moderation_threshold": "0.5"}',
        b'{"version": 0}',
        b'{"auto_describe": true}',
        b"{}",
        b'{"version": 0, "allowed_content_types": []}',
        b'{"version": 0, "allowed_content_types": ["image/avif"]}',
        b'{"version": 0, "trash_retention_days": 0}',
        b'{"version": 0, "trash_retention_days": 3651}',
        b'{"version": 0, "max_image_bytes": 0}',
        b'{"version": 0, "description_provider": "gpt"}',
    ):
        with pytest.raises(pydantic.ValidationError):
            SettingsUpdate.model_validate_json(raw)
