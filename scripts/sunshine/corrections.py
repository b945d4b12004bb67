"""Corrections carry a reason: a line `更正原因：……` in a commit message or a pull request's description.

Read by `sunshine diff` (shown under the ⚠ list), the pull-request check (required when a published
record changes) and build/history.db (kept beside each change). scripts/pr-check, which runs before
the environment exists, repeats the pattern.
"""

from __future__ import annotations

import re

REASON = re.compile(r"^\s*更正原因\s*[:：]\s*(.+?)\s*$", re.M)


def correction_reasons(text: str | None) -> list[str]:
    """Every `更正原因：……` line of a text, in order."""
    return [m[1] for m in REASON.finditer(text or "")]
