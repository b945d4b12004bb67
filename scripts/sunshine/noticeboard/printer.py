"""`python -m sunshine.noticeboard.printer PARENT CACHE`: start Chromium, then print the PDFs of the
jobs read as JSON from stdin ([[html, pdf, key], ...]) into CACHE, in a process of its own.

The site build holds its tables and pages while it writes the sheets; Chromium started from this
small process takes a few hundred megabytes less at its peak than started from the build. The build
starts this process before it knows the jobs, so that Chromium and the font's character map
(pdf.ideograph_of) are ready when they come.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from sunshine import staging
from sunshine.noticeboard import cdp, pdf

if __name__ == "__main__":
    staging.stop_with_parent(int(sys.argv[1]))
    threading.Thread(target=pdf.ideograph_of, daemon=True).start()
    try:
        with pdf.browser_page() as page:
            jobs = [(Path(html), Path(target), key) for html, target, key in json.load(sys.stdin)]
            print(pdf.print_pdfs(jobs, Path(sys.argv[2]), page))
    except cdp.BrowserError as exc:
        sys.exit(str(exc))  # the build names it: 打印公开栏 PDF 失败（…）
