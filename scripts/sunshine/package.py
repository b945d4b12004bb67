"""Locate the repository and read the data package descriptor and its Table Schemas."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from sunshine import settings as settings_module

DESCRIPTOR = "datapackage.json"


# How the parts of a compound primary key are joined into one record key ("a / b").
KEY_SEPARATOR = " / "


def split_key(key: str) -> list[str]:
    """The parts of a record key, in primary-key order."""
    return key.split(KEY_SEPARATOR)


class ProjectNotFound(Exception):
    """No datapackage.json in this directory or any parent."""


@dataclass
class Table:
    """One resource of the package: its CSV path and its Table Schema."""

    name: str
    title: str
    description: str
    path: str  # repository-relative, e.g. "data/petitions.csv"
    schema: dict[str, Any]

    @property
    def fields(self) -> list[dict[str, Any]]:
        return self.schema["fields"]

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def field(self, name: str) -> dict[str, Any]:
        for f in self.fields:
            if f["name"] == name:
                return f
        raise KeyError(name)

    @property
    def primary_key(self) -> list[str]:
        pk = self.schema.get("primaryKey", [])
        return [pk] if isinstance(pk, str) else list(pk)

    @property
    def foreign_keys(self) -> list[dict[str, Any]]:
        """Foreign keys normalised to {"fields": [..], "resource": name, "reference_fields": [..]}."""
        out = []
        for fk in self.schema.get("foreignKeys", []):
            fields = fk["fields"]
            ref = fk["reference"]
            ref_fields = ref["fields"]
            out.append(
                {
                    "fields": [fields] if isinstance(fields, str) else list(fields),
                    "resource": ref.get("resource", self.name),
                    "reference_fields": [ref_fields] if isinstance(ref_fields, str) else list(ref_fields),
                }
            )
        return out

    def record_key(self, row: dict[str, Any]) -> str:
        """One string naming a row: its primary-key values, joined with KEY_SEPARATOR."""
        return KEY_SEPARATOR.join(str(row.get(k) or "") for k in self.primary_key)

    @property
    def label_field(self) -> str:
        """The field naming what a row is about, in lists of changes (x-label)."""
        return self.schema.get("x-label") or self.primary_key[0]

    @property
    def search_fields(self) -> tuple[str, ...]:
        """Fields indexed for Chinese full-text search (x-search), in schema order."""
        return tuple(f["name"] for f in self.fields if f.get("x-search"))

    @property
    def word_fields(self) -> tuple[str, ...]:
        """Fields whose values are place names for the segmentation dictionary (x-words)."""
        return tuple(f["name"] for f in self.fields if f.get("x-words"))

    @property
    def flags_modified(self) -> bool:
        """A change to an existing row alters a record the public has already seen (x-published)."""
        return bool(self.schema.get("x-published", {}).get("modified"))

    @property
    def flags_removed(self) -> bool:
        """Removing a row takes a published record away (x-published)."""
        return bool(self.schema.get("x-published", {}).get("removed"))

    @property
    def rules(self) -> list[dict[str, Any]]:
        """Cross-field rules beyond Table Schema (x-rules)."""
        return self.schema.get("x-rules", [])


@dataclass
class Project:
    """A repository holding datapackage.json, schemas/, data/ and content/."""

    root: Path
    descriptor: dict[str, Any] = field(repr=False)

    @classmethod
    def find(cls, start: Path | str | None = None) -> Project:
        here = Path(start or Path.cwd()).resolve()
        for candidate in (here, *here.parents):
            if (candidate / DESCRIPTOR).is_file():
                return cls.load(candidate)
        raise ProjectNotFound(f"在 {here} 及其上级目录中找不到 {DESCRIPTOR}。请在数据仓库的根目录运行。")

    @classmethod
    def load(cls, root: Path | str) -> Project:
        root = Path(root).resolve()
        descriptor = json.loads((root / DESCRIPTOR).read_text(encoding="utf-8"))
        return cls(root=root, descriptor=descriptor)

    @cached_property
    def tables(self) -> dict[str, Table]:
        out: dict[str, Table] = {}
        for res in self.descriptor["resources"]:
            schema = res["schema"]
            if isinstance(schema, str):
                schema = json.loads((self.root / schema).read_text(encoding="utf-8"))
            out[res["name"]] = Table(
                name=res["name"],
                title=res.get("title", res["name"]),
                description=res.get("description", ""),
                path=res["path"],
                schema=schema,
            )
        return out

    @cached_property
    def settings(self) -> settings_module.Settings:
        """The township's settings from sunshine.toml."""
        return settings_module.load(self.root)

    @cached_property
    def load_order(self) -> tuple[str, ...]:
        """Table names with every table after the tables its foreign keys point to; ties in descriptor order."""
        order: list[str] = []
        pending = list(self.tables)
        while pending:
            ready = [
                name
                for name in pending
                if all(
                    fk["resource"] in order or fk["resource"] == name for fk in self.tables[name].foreign_keys
                )
            ]
            if not ready:
                raise ValueError(f"外键互相引用，无法确定表的顺序：{'、'.join(pending)}")
            order.append(ready[0])
            pending.remove(ready[0])
        return tuple(order)

    @property
    def searchable(self) -> dict[str, tuple[str, ...]]:
        """Searchable fields per table (x-search); each such table gets an FTS5 table <name>_fts."""
        return {name: t.search_fields for name, t in self.tables.items() if t.search_fields}

    @property
    def title(self) -> str:
        return self.descriptor.get("title", "")

    @property
    def license(self) -> dict[str, Any]:
        return (self.descriptor.get("licenses") or [{}])[0]

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"
