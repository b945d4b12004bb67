"""Problems found in the data, as plain data: rendered later to Chinese text, JSON or CI annotations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the data, located as a person sees it in Excel."""

    code: str  # kebab-case; a Frictionless error type where Frictionless knows the error
    file: str  # repository-relative path, e.g. "data/petitions.csv"
    message: str  # Chinese: what is wrong
    hint: str = ""  # Chinese: how to fix it
    row: int | None = None  # spreadsheet line, header = 1
    column: str | None = None  # field name from the Table Schema
    column_title: str | None = None  # the field's Chinese title
    value: str | None = None  # the cell, masked when it holds personal data
    severity: str = "error"  # "error" or "warning"
    fixable: bool = False  # `sunshine fix` can repair it safely
    value_is_code: bool = False  # the value is a code of its column's format (public: shown as it is)
    phones_public: bool = False  # the column publishes phone numbers (its texts may show them)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    """The outcome of validating a whole package."""

    problems: list[Problem] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def valid(self) -> bool:
        return not self.errors

    def flatten(self, keys: tuple[str, ...] = ("code", "file", "row", "column")) -> list[tuple]:
        """Terse tuples for assertions, in report order."""
        return [tuple(getattr(p, k) for k in keys) for p in self.problems]


class BuildError(Exception):
    """A stage could not produce its output; the message is Chinese and names what to do."""
