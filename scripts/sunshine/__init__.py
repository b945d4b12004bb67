"""阳光村务: validate, publish and explain village affairs open data."""

import os

__version__ = "0.1.0"

# Polars allocates through its own jemalloc, which it sets to keep freed pages for half a second
# and then for a second more. A build reads a county's files a block at a time and then computes
# its figures, so the freed blocks stayed in its memory while new work began: the site stage of a
# 10-row commit peaked at 510-540 MB, a validation from nothing at 483-500 MB. Freed pages go back
# after 0.1 s (460-495 MB and 464-473 MB), and no slower: a setting of 0 made reading the petitions
# 0.5-0.9 s slower. Polars adds this setting after its own when it is first imported, which is after
# this package; a caller's own setting is kept.
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:100,muzzy_decay_ms:0")
