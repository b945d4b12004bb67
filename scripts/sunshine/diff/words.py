"""What changed inside a long text, word by word: `更换路灯24盏` → `更换路灯42盏` shows `24盏 → 42盏`.

Chinese has no spaces, so a "word" here is a run of digits with the unit character after it (24盏,
1500.00元), a run of Latin letters, or one Han character; punctuation stands alone. The changed
words are marked with START/END in the old and the new text, with a little context around them,
and the renderers turn the marks into their own notation.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

START, END = "\x01", "\x02"
CONTEXT = 6  # characters kept on each side of a change
LONG = 30  # texts shorter than this are shown whole
SIMILAR = 0.6  # texts sharing less than this (difflib's ratio) are shown whole
_WORDS = re.compile(r"[0-9][0-9.,，]*[^\W\d_a-zA-Z]?|[A-Za-z]+|\s+|.", re.S)


def words(text: str) -> list[str]:
    return _WORDS.findall(text)


def marked(old: str, new: str) -> tuple[str, str]:
    """(old, new), each shortened to the changed words with context, the changed words marked;
    unchanged when the texts have little in common (a rewrite reads better whole)."""
    a, b = words(old), words(new)
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    blocks = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if not blocks or matcher.ratio() < SIMILAR:
        return old, new
    return _mark(a, [(i1, i2) for _, i1, i2, _, _ in blocks]), _mark(
        b, [(j1, j2) for _, _, _, j1, j2 in blocks]
    )


def _mark(tokens: list[str], spans: list[tuple[int, int]]) -> str:
    out: list[str] = []
    pos = 0
    for n, (start, end) in enumerate(spans):
        between = "".join(tokens[pos:start])
        if n == 0:
            out.append(("…" + between[-CONTEXT:]) if len(between) > CONTEXT else between)
        elif len(between) > 2 * CONTEXT:
            out.append(between[:CONTEXT] + "…" + between[-CONTEXT:])
        else:
            out.append(between)
        changed = "".join(tokens[start:end])
        out.append(f"{START}{changed}{END}" if changed else "")
        pos = end
    rest = "".join(tokens[pos:])
    out.append(rest[:CONTEXT] + "…" if len(rest) > CONTEXT else rest)
    return "".join(out)


def plain(text: str) -> str:
    """Marks as brackets, for the terminal."""
    return text.replace(START, "〔").replace(END, "〕")


def markdown(escaped: str) -> str:
    """Marks in already escaped Markdown: the changed words in bold."""
    return re.sub(f"{START}(.*?){END}", lambda m: f"**{m[1]}**" if m[1] else "", escaped)
