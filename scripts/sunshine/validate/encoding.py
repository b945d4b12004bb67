"""Which encoding a CSV is really in, decided by decoding the whole file strictly.

Guessing from a sample is not enough: a GBK file can look like valid Big5 or Latin-1 in its first
kilobytes. A file is accepted only when every byte decodes as UTF-8 (a UTF-8 BOM is allowed).
Otherwise the same strict test, in bounded memory, names what Excel or WPS most likely wrote.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20
BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8（带 BOM）",
    "utf-16": "UTF-16（Excel“Unicode 文本”）",
    "utf-16-le": "UTF-16（Excel“Unicode 文本”）",
    "utf-16-be": "UTF-16（Excel“Unicode 文本”）",
    "gb18030": "GBK/GB18030（中文版 Windows 的 Excel 或 WPS 默认编码）",
}


@dataclass(frozen=True)
class Encoding:
    name: str | None  # a Python codec that decodes the whole file, or None when none does
    bom: bool = False
    bad_offset: int | None = None  # where UTF-8 decoding failed

    @property
    def ok(self) -> bool:
        return self.name in ("utf-8", "utf-8-sig")

    @property
    def label(self) -> str:
        return LABELS.get(self.name or "", "无法识别的编码")


def decodes(path: Path, codec: str, *, skip: int = 0) -> int | None:
    """None when the whole file decodes strictly with codec; else the byte offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(codec)("strict")
    offset = skip
    with open(path, "rb") as f:
        f.seek(skip)
        while chunk := f.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + max(exc.start, 0)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset
    return None


def _looks_utf16(head: bytes) -> str | None:
    """UTF-16 without BOM: every other byte of ASCII text is NUL."""
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > len(odd) * 0.3 and even.count(0) < len(even) * 0.05:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.3 and odd.count(0) < len(odd) * 0.05:
        return "utf-16-be"
    return None


def _chinese_utf8_before(path: Path, offset: int) -> bool:
    """True when the bytes before the first bad one hold Chinese written as UTF-8: a UTF-8 file
    with a cell pasted from another. Any non-ASCII byte is not enough: one GB2312 character in
    seven is also valid UTF-8 (石 is CA AF, Ư in UTF-8), so a GBK file often starts with a few."""
    with open(path, "rb") as f:
        prefix = f.read(min(offset, CHUNK))
    try:
        prefix.decode("gb2312")
        return False  # reads as GBK's characters in common use just as well (涓颁浮 is 丰両 in UTF-8)
    except UnicodeDecodeError:
        pass
    wide = [ord(c) for c in prefix.decode("utf-8", errors="ignore") if ord(c) >= 0x80]
    chinese = sum(1 for c in wide if 0x3000 <= c <= 0x9FFF or 0xFF00 <= c <= 0xFFEF)
    return chinese >= 2 and chinese * 2 >= len(wide)


def line_of(path: Path, offset: int) -> int:
    """Physical line (1-based) holding the byte at offset."""
    line, done = 1, 0
    with open(path, "rb") as f:
        while done < offset and (chunk := f.read(min(CHUNK, offset - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def detect(path: Path) -> Encoding:
    with open(path, "rb") as f:
        head = f.read(4096)
    for bom, codec in BOMS:
        if head.startswith(bom):
            if codec == "utf-8-sig":
                bad = decodes(path, "utf-8", skip=len(bom))
                if bad is None:
                    return Encoding("utf-8-sig", bom=True)
                return Encoding(None, bom=True, bad_offset=bad)
            return Encoding(codec if decodes(path, codec) is None else None, bom=True)
    if (guess := _looks_utf16(head)) and decodes(path, guess) is None:
        return Encoding(guess)
    bad = decodes(path, "utf-8")
    if bad is None:
        return Encoding("utf-8")
    if _chinese_utf8_before(path, bad):
        # Mostly UTF-8 with a few foreign bytes (a cell pasted from another file): no single encoding.
        return Encoding(None, bad_offset=bad)
    if decodes(path, "gb18030") is None:
        pasted = _utf8_cell(path)
        if pasted is not None:  # a GBK file with a cell pasted from a UTF-8 one: no single encoding
            return Encoding(None, bad_offset=pasted)
        return Encoding("gb18030", bad_offset=bad)
    return Encoding(None, bad_offset=bad)


# A cell of Chinese written as UTF-8 (two or more 3-byte characters, ASCII between), in a file that
# decodes as GBK: GBK reads those bytes too, as other characters, and the text would come out garbled.
_UTF8_CELL = re.compile(
    rb'(?:^|(?<=[,\n]))"?((?:[\x20-\x21\x23-\x2b\x2d-\x7e]*[\xe4-\xe9][\x80-\xbf]{2}){2,}'
    rb'[\x20-\x21\x23-\x2b\x2d-\x7e]*)"?(?=[,\r\n]|$)',
    re.M,
)


def _utf8_cell(path: Path) -> int | None:
    """The offset of a cell that is Chinese in UTF-8 and not in GB2312, or None. Text typed in GBK
    matches the pattern only by chance, and then reads as GB2312 (the characters in common use)."""
    overlap = 4096
    offset = 0
    with open(path, "rb") as f:
        block = f.read(CHUNK)
        while block:
            for found in _UTF8_CELL.finditer(block):
                cell = found.group(1)
                try:
                    cell.decode("gb2312")
                except UnicodeDecodeError:
                    return offset + found.start(1)
            more = f.read(CHUNK)
            if not more:
                break
            keep = block[-overlap:]
            offset += len(block) - len(keep)
            block = keep + more
    return None
