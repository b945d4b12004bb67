"""The word list for Chinese segmentation, shared by Datasette's search and the site's search.

Both sides segment with jieba and the same user dictionary: the domain words in words.txt plus
the names of villages, townships and grids and the values of enumerated fields in the data.
"""

from __future__ import annotations

import csv
import logging
from functools import lru_cache
from pathlib import Path

import jieba

from sunshine.package import Project

try:  # the same algorithm and dictionary in C, several times faster; identical words
    import jieba_fast as _segmenter_module
except ImportError:  # pragma: no cover - jieba_fast is a declared dependency
    _segmenter_module = jieba

DOMAIN_WORDS = Path(__file__).with_name("words.txt")
PROJECT_WORD_FREQ = 40000
jieba.setLogLevel(logging.WARNING)
_segmenter_module.setLogLevel(logging.WARNING)
# The tokenizer segments each run of these characters on its own: the unit a cache may key on.
BLOCK = _segmenter_module.re_han_default


def domain_words() -> list[tuple[str, int, str]]:
    """(word, frequency, tag) from words.txt."""
    out = []
    for line in DOMAIN_WORDS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        word, freq, tag = (line.split() + ["", ""])[:3]
        out.append((word, int(freq or PROJECT_WORD_FREQ), tag or "n"))
    return out


def project_words(project: Project) -> list[str]:
    """Place names and enumerated values found in the project's data and schemas."""
    words: set[str] = set()
    for table in project.tables.values():
        for field in table.fields:
            words.update(v for v in field.get("constraints", {}).get("enum", []) if len(v) > 1)
    for table in project.tables.values():
        columns = table.word_fields
        path = project.root / table.path
        if not columns:
            continue
        if not path.exists():
            continue
        with path.open(encoding="utf-8-sig", newline="") as f:
            for row in csv.DictReader(f):
                words.update(row[c].strip() for c in columns if row.get(c) and len(row[c].strip()) > 1)
    return sorted(words)


def dictionary_lines(project: Project) -> list[str]:
    lines = [f"{w} {f} {t}" for w, f, t in domain_words()]
    known = {w for w, _, _ in domain_words()}
    lines += [f"{w} {PROJECT_WORD_FREQ} ns" for w in project_words(project) if w not in known]
    return lines


@lru_cache(maxsize=8)
def _tokenizer(lines: tuple[str, ...]) -> jieba.Tokenizer:
    tok = _segmenter_module.Tokenizer()
    tok.initialize()
    for line in lines:
        word, freq, tag = line.split()
        tok.add_word(word, int(freq), tag)
    return tok


def forget_tokenizers() -> None:
    """Drop the cached tokenizers (some 60 MB each with the domain words), e.g. once a build's
    database stage has indexed its rows: the stages after it do not segment text."""
    _tokenizer.cache_clear()


def tokenizer_from_lines(lines: list[str] | tuple[str, ...]) -> jieba.Tokenizer:
    """A jieba tokenizer for user dictionary lines as written by dictionary_lines (cached).

    The database stores the lines it was indexed with, so a query is segmented with exactly them.
    """
    return _tokenizer(tuple(line for line in lines if line.strip()))
