"""The jieba dictionaries for the site's search index.

Material's search plugin segments Chinese text with jieba at build time; in the browser a query is
split greedily into the words that are in the index, and each word matches only as a prefix. So a
page that contains 集体土地 is found by 集体 (a prefix) but not by 土地 if jieba keeps 集体土地 as
one word. The dictionary written here therefore leaves out every word that splits completely into
two or more shorter dictionary words of at least two characters each (集体土地 → 集体 + 土地,
征地补偿款 → 征地 + 补偿款): the index then holds the parts, a query for the whole word is split into
the same parts, and both are found. Words such as 低保户 (低保 + 户) stay whole, as their head is
reached by prefix.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import jieba

from sunshine.chinese.words import dictionary_lines
from sunshine.package import Project

JIEBA_DICT = Path(jieba.__file__).with_name("dict.txt")


def _splits(word: str, words: set[str]) -> bool:
    """Whether word is a sequence of two or more dictionary words, each at least two characters long."""
    n = len(word)
    reach = [False] * (n + 1)
    reach[0] = True
    for i in range(n):
        if not reach[i]:
            continue
        for j in range(i + 2, n + 1 if i else n):  # the first piece may not be the whole word
            if reach[j]:
                continue
            if word[i:j] in words:
                reach[j] = True
    return reach[n]


def write_dictionaries(project: Project, target: Path) -> tuple[Path, Path]:
    """Write (main dictionary, user dictionary) for the search plugin under target; reuse if unchanged."""
    user_lines = dictionary_lines(project)
    base = JIEBA_DICT.read_bytes()
    digest = hashlib.sha256(base + "\n".join(user_lines).encode("utf-8")).hexdigest()[:16]
    main, user = target / f"search-dict-{digest}.txt", target / f"search-user-{digest}.txt"
    if main.exists() and user.exists():
        return main, user
    target.mkdir(parents=True, exist_ok=True)
    for old in target.glob("search-*.txt"):
        old.unlink()
    entries: dict[str, str] = {}
    for line in base.decode("utf-8").splitlines():
        parts = line.split()
        if parts:
            entries[parts[0]] = line
    for line in user_lines:
        entries[line.split()[0]] = line
    words = set(entries)
    kept = {w: line for w, line in entries.items() if len(w) < 4 or not _splits(w, words)}
    main.write_text("\n".join(kept.values()) + "\n", encoding="utf-8")
    user.write_text(
        "\n".join(line for line in user_lines if line.split()[0] in kept) + "\n", encoding="utf-8"
    )
    return main, user


def segment(text: str, main: Path, user: Path) -> list[str]:
    """Segment text as the search plugin will (for tests and for checking a word is findable)."""
    tok = jieba.Tokenizer(str(main))
    tok.load_userdict(str(user))
    return [w for w in tok.cut(text) if w.strip()]
