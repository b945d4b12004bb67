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

import jieba

from sunshine.chinese import words

_BLOCK = words.BLOCK
_WORDLIKE = re.compile(r"\w")
# The index's tokenizer splits on everything but letters and digits ("2024-01" is 2024, 01).
_FTS_TOKEN = re.compile(r"[^\W_]+")
_ASCII_RUN = re.compile(r"[0-9A-Za-z]+")
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
        self._texts: dict[str, str] = {}
        self._expansions: dict[str, list[str]] = {}
        # A block (one run of BLOCK's characters) is what jieba's cut hands to this method of the
        # tokenizer, after splitting its text at BLOCK: called directly, a block is not split into
        # itself first: a tenth less time segmenting the petitions. The same words
        # (tests/test_search_words.py holds it to cut).
        self._cut_block = getattr(tok, "_Tokenizer__cut_DAG", None) or (
            lambda block: tok.cut(block, HMM=True)
        )

    def _words_for_index(self, block: str) -> list[str]:
        out: list[str] = []
        expansions = self._expansions
        for word in self._cut_block(block):
            if len(word) > 2:
                grams = expansions.get(word)
                if grams is None:
                    grams = expansions[word] = self._inner_words(word)
                out.extend(grams)
            out.append(word)
        return out

    def _inner_words(self, word: str) -> list[str]:
        """Every dictionary word inside word, shortest first (a superset of jieba's cut_for_search),
        and each run of ASCII letters or digits in a word that also holds Chinese (12345 of the
        dictionary word 12345热线: a journalist searches for the hotline by its number)."""
        n, freq = len(word), self.freq
        inner = [
            word[i : i + size]
            for size in range(2, n)
            for i in range(n - size + 1)
            if freq.get(word[i : i + size])
        ]
        runs = _ASCII_RUN.findall(word)
        return [*runs, *inner] if runs and runs[0] != word else inner

    def index_text(self, text: str | None) -> str:
        """Space-separated words of text, for the FTS5 index (cached by text and by block)."""
        if not text:
            return ""
        texts = self._texts
        seg = texts.get(text)
        if seg is None:
            if len(texts) > _CACHE_LIMIT:
                texts.clear()
            seg = texts[text] = " ".join([self._block_words(b) for b in _BLOCK.findall(text)])
        return seg

    def _block_words(self, block: str) -> str:
        cache = self._blocks
        seg = cache.get(block)
        if seg is None:
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            seg = cache[block] = " ".join(self._words_for_index(block))
        return seg

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
