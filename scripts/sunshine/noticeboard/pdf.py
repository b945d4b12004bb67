"""Print the 公开栏 sheets to PDF with Chromium (over its DevTools pipe: cdp.py), each PDF made once per content.

Chromium maps some CJK glyphs of Noto Sans CJK back to the look-alike Kangxi radicals (⽉ for 月,
⽇ for 日) in the PDF's text layer, so copied or searched text would differ from what is printed.
`fix_text_layer` rewrites those mappings, after printing, to the ideograph the font draws with the
same glyph (read from the font's own character map).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

import pikepdf
from fontTools.ttLib import TTCollection, TTLibError

from sunshine.noticeboard import cdp

DEFAULT_CHROMIUM = "/usr/bin/chromium"
# A change to how sheets are printed prints them again.
VERSION = hashlib.sha256(Path(__file__).read_bytes() + Path(cdp.__file__).read_bytes()).hexdigest()[:12]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-sync"]


def chromium() -> str:
    """Debian's Chromium, or the one SUNSHINE_CHROMIUM names (empty: print no PDFs)."""
    return os.environ.get("SUNSHINE_CHROMIUM", DEFAULT_CHROMIUM)


def available() -> bool:
    path = chromium()
    return bool(path) and Path(path).is_file() and os.access(path, os.X_OK)


TABS = 2  # tabs printing side by side: three were no faster than two on a two-core server


def browser_page() -> contextlib.AbstractContextManager[cdp.Tabs]:
    """Tabs of a headless Chromium, stopped on leaving."""
    return cdp.tabs(chromium(), ARGS, TABS)


def print_pdfs(jobs: Iterable[tuple[Path, Path, str]], cache: Path, page: cdp.Tabs | None = None) -> int:
    """For each (html file, pdf target, key): print once into the cache, then link it in place.
    `page`: browser tabs to print with (else Chromium is started when a PDF must be printed).

    Returns how many PDFs were printed now (the others came from the cache).
    """
    jobs = [(html, target, f"{key}-{VERSION}") for html, target, key in jobs]
    cache.mkdir(parents=True, exist_ok=True)
    # One print of each key (two jobs of one key would print into one file).
    todo = {cache / f"{key}.pdf": html for html, _, key in jobs if not (cache / f"{key}.pdf").exists()}
    if todo:
        printing = [(html, cached.with_name(cached.name + ".tmp")) for cached, html in todo.items()]
        try:
            with contextlib.nullcontext(page) if page is not None else browser_page() as using:
                for tmp in using.print_pdfs(printing):
                    fix_text_layer(tmp)
                    tmp.replace(tmp.with_name(tmp.name.removesuffix(".tmp")))
        finally:  # what a failed group printed is not kept
            for _, tmp in printing:
                tmp.unlink(missing_ok=True)
    for _, target, key in jobs:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(cache / f"{key}.pdf", target)
        except OSError:
            shutil.copyfile(cache / f"{key}.pdf", target)
    return len(todo)


_BFCHAR = re.compile(r"(beginbfchar\s*)(.*?)(\s*endbfchar)", re.S)
_PAIR = re.compile(r"(<[0-9A-Fa-f]+>\s*<)([0-9A-Fa-f]+)(>)")
_LOOK_ALIKES = re.compile("[\u2e80-\u2fdf\uf900-\ufaff]")  # radicals, compatibility ideographs
FONT = "Noto Sans CJK SC"  # the sheets' first font (sheet.STYLE)


@functools.cache
def ideograph_of() -> dict[str, str]:
    """Each radical or compatibility character the font draws with an ideograph's glyph -> that ideograph."""
    try:
        done = subprocess.run(
            ["fc-match", "--format=%{file}", FONT], capture_output=True, text=True, check=False
        )
        collection = TTCollection(done.stdout.strip(), lazy=True)
    except (OSError, TTLibError):
        return {}
    font = next((f for f in collection.fonts if f["name"].getDebugName(1) == FONT), None)
    if font is None:
        return {}
    by_glyph: dict[str, list[str]] = {}
    for codepoint, glyph in font.getBestCmap().items():
        by_glyph.setdefault(glyph, []).append(chr(codepoint))
    out = {}
    for chars in by_glyph.values():
        ideographs = [c for c in chars if "\u4e00" <= c <= "\u9fff"]
        for c in chars:
            if ideographs and _LOOK_ALIKES.match(c):
                out[c] = ideographs[0]
    return out


def _ideographs(hex_text: str) -> str:
    text = bytes.fromhex(hex_text).decode("utf-16-be", errors="replace")
    table = ideograph_of()
    fixed = _LOOK_ALIKES.sub(lambda c: table.get(c.group(), c.group()), text)
    return fixed.encode("utf-16-be").hex().upper() if fixed != text else hex_text


def _fix_cmap(cmap: str) -> str:
    def block(match: re.Match[str]) -> str:
        pairs = _PAIR.sub(lambda p: p.group(1) + _ideographs(p.group(2)) + p.group(3), match.group(2))
        return match.group(1) + pairs + match.group(3)

    return _BFCHAR.sub(block, cmap)


def fix_text_layer(path: Path) -> bool:
    """Map Kangxi radicals in the fonts' ToUnicode tables to the ideographs; True when changed.

    With qpdf (through pikepdf), which reads only the objects asked for: a sheet takes 0.1 s here,
    against 0.7 s with pypdf, which parsed and copied the whole document, its fonts included.
    """
    changed = False
    with pikepdf.open(path, allow_overwriting_input=True) as doc:
        seen: set[tuple[int, int]] = set()
        for page in doc.pages:
            resources = page.obj.get("/Resources", pikepdf.Dictionary())
            for _, font in resources.get("/Font", pikepdf.Dictionary()).items():
                stream = font.get("/ToUnicode")
                if stream is None or stream.objgen in seen:
                    continue
                seen.add(stream.objgen)
                cmap = stream.read_bytes().decode("latin-1")
                fixed = _fix_cmap(cmap)
                if fixed != cmap:
                    stream.write(fixed.encode("latin-1"))
                    changed = True
        if changed:
            doc.save(path)
    return changed
