"""The search index's words: each block of a text is segmented as jieba's cut segments it."""

from __future__ import annotations

import csv

from sunshine.chinese import search, words
from sunshine.package import Project

from .conftest import ROOT, copy_package

ODD = [
    "张三丰在青石村东头修路灯",  # a name jieba does not know: its hidden Markov model cuts it
    "12345热线转来的诉求",
    "村民代表会议决议〔2024〕3号",
    "abc路灯def",
    "路",
    "的了吗",
    "2024-05-03受理，2024-05-06办结。",
    "欧阳娜娜和司马光砸缸",
]


def test_every_block_is_cut_into_the_words_jieba_cut_gives_it(tmp_path):
    project = Project.load(copy_package(ROOT, tmp_path / "pkg"))
    tok = words.tokenizer_from_lines(words.dictionary_lines(project))
    segmenter = search.Segmenter(tok)
    assert segmenter._cut_block.__name__ == "__cut_DAG"  # the direct path, not the fallback
    texts = list(ODD)
    for name, columns in project.searchable.items():
        with (project.root / project.tables[name].path).open(encoding="utf-8", newline="") as f:
            texts += [row[c] for row in csv.DictReader(f) for c in columns if row[c]]
    blocks = {b for t in texts for b in search._BLOCK.findall(t)}
    assert len(blocks) > 500
    for block in blocks:
        assert list(segmenter._cut_block(block)) == list(tok.cut(block, HMM=True)), block
