"""datapackage.json and every Table Schema conform to the official Data Package v2.0 JSON Schemas."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from .conftest import ROOT

# The official profiles, kept in the repository so the test runs on any clone; when the shared
# specification folder sits beside the repository, the copy must match it.
SPECS = Path(__file__).resolve().parent / "specs"
UPSTREAM = Path(ROOT).parent / "shared" / "specs"
SCHEMAS = sorted((ROOT / "schemas").glob("*.schema.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# The one known erratum of the published 2.0 profile: the standard's text says `fieldsMatch` "MUST be
# a string" (exact, equal, subset, superset, partial), the profile declares an array by mistake
# (frictionlessdata/datapackage#965). The schemas follow the text, as Frictionless does.
FIELDS_MATCH = {"type": "string", "enum": ["exact", "equal", "subset", "superset", "partial"]}


def profile_of(name: str) -> dict:
    profile = load(SPECS / name)
    if "fieldsMatch" in profile.get("properties", {}):
        profile["properties"]["fieldsMatch"] = FIELDS_MATCH
    return profile


def errors(profile: str, document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(profile_of(profile))
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.mark.skipif(not UPSTREAM.is_dir(), reason="no shared specification folder beside this clone")
@pytest.mark.parametrize("profile", ["datapackage-2.0.json", "dataresource-2.0.json", "tableschema-2.0.json"])
def test_the_kept_profiles_are_the_official_ones(profile):
    assert (SPECS / profile).read_bytes() == (UPSTREAM / profile).read_bytes()


def test_the_package_descriptor_conforms_to_data_package_2_0():
    assert errors("datapackage-2.0.json", load(ROOT / "datapackage.json")) == []


def test_every_resource_conforms_to_data_resource_2_0():
    for resource in load(ROOT / "datapackage.json")["resources"]:
        assert errors("dataresource-2.0.json", resource) == [], resource["name"]


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_table_schema_conforms_to_table_schema_2_0(path: Path):
    assert errors("tableschema-2.0.json", load(path)) == []


def test_every_resource_points_at_a_schema_file_that_exists():
    paths = [r["schema"] for r in load(ROOT / "datapackage.json")["resources"]]
    assert sorted(ROOT / p for p in paths) == SCHEMAS


def test_the_profile_check_rejects_a_broken_schema():
    broken = load(SCHEMAS[0])
    broken["fields"][0]["type"] = "text"
    assert errors("tableschema-2.0.json", broken) != []


def test_the_erratum_is_still_in_the_kept_profile_and_a_wrong_fields_match_is_rejected():
    assert load(SPECS / "tableschema-2.0.json")["properties"]["fieldsMatch"]["type"] == "array"
    broken = load(SCHEMAS[0])
    broken["fieldsMatch"] = "by-name"
    assert errors("tableschema-2.0.json", broken) != []
