"""Chinese full-text search: one jieba segmenter for the indexed text and for the query.

SQLite's FTS5 tokenizers see a run of Chinese characters as one token, so the text is segmented
into words before it is indexed: each searchable column gets a shadow column of space-separated
words in a hidden FTS5 table, and a query is segmented the same way before it is matched.

What matches (the contract the tests check):
- A query is cut into words (jieba's precise mode, the project's user dictionary) and a row must
  contain every word (AND). Punctuation and spaces in the query do not matter.
- A word of the text is indexed together with every dictionary word inside it, so 村民代表 and
  会议 both find 村民代表会议, and 补偿款 finds 征地补偿款.
- A single character finds only rows where it stands as a word by itself: 灯 does not find 路灯.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import jieba

# Searchable columns per public table; the FTS5 table is named <table>_fts.
SEARCHABLE: dict[str, tuple[str, ...]] = {
    "disclosures": ("title", "content"),
    "petitions": ("summary", "outcome"),
}

# jieba segments each run of these characters on its own, so a run is the unit we can cache.
_BLOCK = jieba.re_han_default
_WORDLIKE = re.compile(r"\w")
# FTS5's unicode61 tokenizer splits on everything but letters and digits ("2024-01" is 2024, 01).
_FTS_TOKEN = re.compile(r"[^\W_]+")
# Particles that carry no meaning in a query; dropped unless the query is nothing else.
QUERY_STOPWORDS = frozenset("的了吗呢吧啊呀")
_CACHE_LIMIT = 400_000


def fts_table(table: str) -> str:
    return f"{table}_fts"


class Segmenter:
    """Segments text for the index and queries for MATCH with one jieba tokenizer."""

    def __init__(self, tok: jieba.Tokenizer) -> None:
        self.tok = tok
        self.freq = tok.FREQ
        self._blocks: dict[str, str] = {}

    def _words_for_index(self, block: str) -> list[str]:
        out: list[str] = []
        freq = self.freq
        for word in self.tok.cut(block, HMM=True):
            n = len(word)
            if n > 2:
                # every dictionary word inside the word, longest last (superset of cut_for_search)
                for size in range(2, n):
                    for i in range(n - size + 1):
                        gram = word[i : i + size]
                        if freq.get(gram):
                            out.append(gram)
            out.append(word)
        return out

    def index_text(self, text: str | None) -> str:
        """Space-separated words of text, for the FTS5 shadow column."""
        if not text:
            return ""
        parts = []
        cache = self._blocks
        for block in _BLOCK.findall(text):
            seg = cache.get(block)
            if seg is None:
                if len(cache) > _CACHE_LIMIT:
                    cache.clear()
                seg = cache[block] = " ".join(self._words_for_index(block))
            parts.append(seg)
        return " ".join(parts)

    def query_words(self, query: str) -> list[str]:
        words = [w for w in self.tok.cut(query, HMM=True) if _WORDLIKE.search(w)]
        meaningful = [w for w in words if w not in QUERY_STOPWORDS]
        return meaningful or words

    def match_expression(self, query: str | None) -> str:
        """An FTS5 MATCH expression requiring every word of the query; '' when there is none.

        Each term is one index token, so the expression needs no phrase or column support.
        """
        tokens = [t for w in self.query_words(query or "") for t in _FTS_TOKEN.findall(w)]
        return " ".join(f'"{t}"' for t in dict.fromkeys(tokens))


def index_rows(segmenter: Segmenter, rows: Iterable[tuple]) -> Iterable[tuple]:
    """(rowid, text, ...) -> (rowid, segmented text, ...)."""
    seg = segmenter.index_text
    for rowid, *texts in rows:
        yield (rowid, *(seg(t) for t in texts))
