"""`python -m sunshine.noticeboard.printer PARENT CACHE`: print the PDFs of the jobs read as JSON from
stdin ([[html, pdf, key], ...]) into CACHE, in a process of its own.

The site build holds its tables and pages while it writes the sheets; Chromium started from this
small process takes a few hundred megabytes less at its peak than started from the build.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sunshine.noticeboard import pdf
from sunshine.site.pages.downloads import stop_with_parent

if __name__ == "__main__":
    stop_with_parent(int(sys.argv[1]))
    jobs = [(Path(html), Path(target), key) for html, target, key in json.load(sys.stdin)]
    print(pdf.print_pdfs(jobs, Path(sys.argv[2])))
