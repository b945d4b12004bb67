"""A large file's first version read, masked and hashed for the history writer, in a process of its own.

`python -m sunshine.history.reading` takes (repository, table, masking columns, commit, batch size)
pickled on its standard input, and writes pickled to its standard output the file's column names
(None: the rows cannot be read by columns), each `bulk.Batch`, then None; or `bulk.Failed`. The
writer (`versions._batches`) writes one batch to history.db while this process reads the next: the
two cores of a small server work at once.
"""

from __future__ import annotations

import gc
import pickle
import sys
from typing import IO

from sunshine.history import bulk
from sunshine.history.versions import Reader
from sunshine.privacy import RowMasker


def main() -> None:
    gc.disable()  # millions of cells in lists and no cycle among them: a short life without collections
    out = sys.stdout.buffer
    try:
        repo, table, columns, ref, size = pickle.load(sys.stdin.buffer)
        reader = Reader(repo, table, RowMasker(columns))
        proc, text = reader._text(ref)
        try:
            names, read = bulk.batches(table, reader.mask, text, size)  # type: ignore[arg-type]
            pickle.dump(names if read is not None else None, out, pickle.HIGHEST_PROTOCOL)
            for batch in read or ():
                _dump_without_memo(batch, out)
            pickle.dump(None, out)
        finally:
            proc.kill()
            proc.wait()
    except BrokenPipeError:  # the build stopped reading: it failed, or was stopped
        return
    except BaseException as exc:  # handed to the build, which raises it
        pickle.dump(bulk.Failed(exc), out)
    out.flush()


def _dump_without_memo(batch: bulk.Batch, out: IO[bytes]) -> None:
    """A batch pickled without remembering each object pickled: it holds no cycles, and remembering
    its hundreds of thousands of cells took more than half the time of pickling it."""
    pickler = pickle.Pickler(out, pickle.HIGHEST_PROTOCOL)
    pickler.fast = True  # no memo
    pickler.dump(batch)


if __name__ == "__main__":
    main()
