"""Run Datasette with the portal plugin: python -m sunshine.portal serve ... (same arguments).

Datasette prints every failed or interrupted query as a Rich traceback with all local variables
when Rich is importable (it is: frictionless brings it in). That made a 1 s time limit take 2.4 s
and slowed every other request, so this process hides Rich from Datasette before importing it;
Datasette then falls back to its plain error page and a one-line log entry.
"""

from __future__ import annotations

import sys

sys.modules["rich"] = None  # type: ignore[assignment]  # `import rich` now raises ImportError

from datasette.cli import cli  # noqa: E402
from datasette.plugins import pm  # noqa: E402

from sunshine.portal import plugin as portal  # noqa: E402

if not pm.is_registered(portal):
    pm.register(portal, name="sunshine-portal")

if __name__ == "__main__":
    cli(prog_name="datasette")
