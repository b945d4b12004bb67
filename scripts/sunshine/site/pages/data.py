"""The validated tables, loaded once for every page (petition figures come from sunshine.figures)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from sunshine import figures, privacy, records, typed
from sunshine.figures import petition_figures
from sunshine.package import Project, Table
from sunshine.privacy import Columns, mask_frame

__all__ = ["SiteData", "petition_figures"]


# Long texts the pages show only for the newest petitions (RECENT_PETITIONS); no figure reads them,
# and a county's million petitions hold hundreds of megabytes of them.
RECENT_ONLY = ("summary", "outcome")
RECENT_PETITIONS = 20
NEWEST = ("resolved_on", "case_id")  # the order of 最近办结的诉求, newest first
# What the site keeps of each petition for its figures and counts (figures.with_days adds the
# last four); texts repeated from a small set are kept as categories, a few bytes a row.
PETITION_COLUMNS = ("village_code", "grid_id", "category", "channel", "department", "satisfaction")
KEPT_PETITION_COLUMNS = (*PETITION_COLUMNS, "days", "month", "received_year", "resolved_year")
PATCHED_AT_MOST = 100_000  # records added since the last build read one by one; more: the whole file
SHIFTS_AT_MOST = 64  # records matched to the kept rows at so many shifts at most (kept_positions)
SPLICED_AT_MOST = 1024  # the kept rows spliced in so many runs at most (_assembled); more: copied


def _read_table(project: Project, name: str, columns: list[str] | None = None) -> pl.DataFrame:
    """A table from its CSV as text columns (empty cells are null), personal numbers masked.

    The CSVs are read directly: polars reads a million rows in about a second, faster than
    fetching them from SQLite, and the site never sees a database older than the data.
    Every page is rendered from these frames, so no page can show a cell unmasked; a number
    that had to be masked is left out (empty) rather than shown.
    """
    table = project.tables[name]
    columns = columns or table.field_names
    return _shown(table, typed.text_frame(project.root / table.path, columns))


def _shown(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """Text cells as the pages show them: personal numbers masked, a masked number left out, trimmed."""
    masked = mask_frame(frame, Columns.of(table.fields))
    numeric = [
        f["name"]
        for f in table.fields
        if f.get("type") in ("integer", "number") and f["name"] in frame.columns
    ]
    masked = masked.with_columns(
        pl.when(masked[c] == frame[c]).then(masked[c]).otherwise(None).alias(c) for c in numeric
    )
    return masked.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in frame.columns)


def read_table(project: Project, name: str) -> pl.DataFrame:
    """One table as the pages read it: text columns, personal numbers masked."""
    return _read_table(project, name)


@dataclass
class SiteData:
    """The tables plus derived columns: numbers as numbers, days to resolve, years."""

    villages: pl.DataFrame
    grids: pl.DataFrame
    staff: pl.DataFrame
    disclosures: pl.DataFrame
    petitions: pl.DataFrame
    committee_members: pl.DataFrame
    commitments: pl.DataFrame
    recent_petitions: pl.DataFrame = field(default_factory=pl.DataFrame)  # with their long texts
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, project: Project, kept: Path | None = None) -> SiteData:
        """The tables; `kept`: where one build keeps its petitions for the next (see _petitions)."""
        read = {name: _read_table(project, name) for name in project.tables if name != "petitions"}
        villages = read["villages"].with_columns(
            pl.col("households").cast(pl.Int64), pl.col("population").cast(pl.Int64)
        )
        grids = read["grids"].with_columns(
            pl.col("households").cast(pl.Int64), pl.col("population").cast(pl.Int64)
        )
        disclosures = read["disclosures"].with_columns(
            pl.col("amount_yuan").cast(pl.Float64),
            pl.col("period").str.slice(0, 4).alias("year"),
        )
        petitions, recent = _petitions(project, kept)
        return cls(
            villages,
            grids,
            read["grid_staff"],
            disclosures,
            petitions,
            read["committee_members"],
            read["commitments"],
            recent,
        )

    def village_name(self) -> dict[str, str]:
        return dict(zip(self.villages["village_code"], self.villages["name"], strict=True))


def _petitions(project: Project, kept: Path | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The petitions as the figures read them (PETITION_COLUMNS and figures.with_days, masked), and
    the newest (RECENT_PETITIONS, every column, their long texts too).

    The file is read a block at a time (typed.text_frames) and only what the site keeps of each block
    stays: a county's million petitions are 40 MB so, where reading them whole took 1.2 GB.

    With `kept` (a file the last build left), only the records that are not in the last version are
    read: what the site keeps of every record is kept there beside the record's hash (sunshine.records),
    and each row depends on its own record alone."""
    table = project.tables["petitions"]
    path = project.root / table.path
    if kept is not None:
        patched = _patched(table, path, kept)
        if patched is not None:
            return patched
    fields = table.field_names
    texts = [c for c in RECENT_ONLY if c in fields]
    others = [c for c in fields if c not in texts]
    read = _read_columns(table)
    parts, newest = [], []
    refused: list[bool] = []
    for raw in typed.text_frames(path, fields, refused=lambda: refused.append(True)):
        part = _kept_of(table, raw.select(read))
        parts.append(part if kept is not None else part.drop(NEWEST))
        newest.append(raw[_newest(part)])
    candidates = pl.concat(newest)
    rows = (
        figures.with_days(_shown(table, candidates.select(others)))
        .with_row_index("_row")
        .sort(NEWEST, descending=True)
        .head(RECENT_PETITIONS)
    )
    recent = rows.drop("_row")
    if texts:
        recent = pl.concat([recent, _shown(table, candidates.select(texts))[rows["_row"]]], how="horizontal")
    frame = pl.concat(parts)
    if kept is not None:
        if not refused:
            _keep(table, records.index_of(path, records.blob_id(path)), frame, kept)
        else:
            shutil.rmtree(kept, ignore_errors=True)
        frame = frame.drop(NEWEST)
    return frame, recent


def _newest(frame: pl.DataFrame) -> pl.Series:
    """Where the newest RECENT_PETITIONS rows of a frame stand, newest first."""
    order = frame.select(pl.col(c).cast(pl.String) for c in NEWEST).with_row_index("_row")
    days = order[NEWEST[0]].drop_nulls()
    if days.len() > RECENT_PETITIONS:  # only rows resolved on one of the newest days can be among them
        last = days.top_k(RECENT_PETITIONS).min()
        order = order.filter(pl.col(NEWEST[0]).is_null() | (pl.col(NEWEST[0]) >= last))
    return order.sort(NEWEST, descending=True).head(RECENT_PETITIONS)["_row"]


def _read_columns(table: Table) -> list[str]:
    return [c for c in table.field_names if c in (*PETITION_COLUMNS, "received_on", *NEWEST)]


def _kept_of(table: Table, raw: pl.DataFrame) -> pl.DataFrame:
    """What the site keeps of each petition of a block: KEPT_PETITION_COLUMNS and the NEWEST order."""
    shown = figures.with_days(_shown(table, raw))
    return shown.select(*KEPT_PETITION_COLUMNS, *NEWEST).with_columns(
        pl.col(c).cast(pl.Categorical) for c in (*KEPT_PETITION_COLUMNS, NEWEST[0]) if c != "days"
    )


# -- what one build keeps of the petitions for the next ------------------------------------------


def _kept_key(table: Table, header: bytes) -> str:
    """What the kept rows were made by: the code, the table's schema, polars and the file's header."""
    digest = hashlib.sha256()
    for module in (sys.modules[__name__], figures, typed, privacy, records):
        digest.update(Path(str(module.__file__)).read_bytes())
    digest.update(json.dumps(table.schema, sort_keys=True).encode())
    digest.update(pl.__version__.encode() + b"\0" + header.removeprefix(records.BOM))
    return digest.hexdigest()


def _kept_file(kept: Path, table: Table, index: records.Index) -> Path:
    return kept / f"{_kept_key(table, index.header)}.arrow"


def _keep(table: Table, index: records.Index, frame: pl.DataFrame, kept: Path) -> None:
    """Keep the rows (what the site keeps of each, in file order) beside each record's hash, for the
    next build, in a file named by _kept_key; nothing when the records and rows do not match one to one."""
    target = _kept_file(kept, table, index)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    try:
        kept.mkdir(parents=True, exist_ok=True)
        for old in kept.iterdir():
            old.unlink(missing_ok=True)
        if index.unique and index.records == frame.height:
            frame.with_columns(index.frame["h"]).write_ipc(tmp)
            os.replace(tmp, target)
    except (OSError, pl.exceptions.PolarsError):
        tmp.unlink(missing_ok=True)  # keeping it only saves the next build a pass over the file


def _patched(table: Table, path: Path, kept: Path) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """The petitions from the kept rows of the last build and the records added since; None when
    nothing usable was kept (a first build, another schema or header, another version of the code)."""
    index = records.index_of(path, records.blob_id(path))
    try:
        # A blank line is no record, but polars reads it as a row of empty cells: read whole.
        old = pl.read_ipc(_kept_file(kept, table, index)) if index.unique and not index.blank else None
    except (OSError, pl.exceptions.PolarsError):
        return None
    if old is None:
        return None
    # Where each record of the file stood in the kept rows (null: not kept, read from the file).
    at = kept_positions(old["h"], index.frame["h"])
    if at is None:
        at = index.frame.select("h").join(
            old.select("h").with_row_index("_old"), on="h", how="left", maintain_order="left"
        )["_old"]
    added = index.frame.filter(at.is_null())
    if added.height > PATCHED_AT_MOST or at.len() != index.records:
        return None
    fresh = _parsed(table, path, index, added, _read_columns(table))
    if fresh is None:
        return None
    columns = [c for c in old.columns if c != "h"]
    frame = _assembled(old.select(columns), _kept_of(table, fresh).select(columns), at)
    del old
    fields = table.field_names
    candidates = _parsed(table, path, index, index.frame[_newest(frame)], fields)
    if candidates is None:
        return None
    texts = [c for c in RECENT_ONLY if c in fields]
    recent = figures.with_days(_shown(table, candidates.select(c for c in fields if c not in texts)))
    if texts:
        recent = pl.concat([recent, _shown(table, candidates.select(texts))], how="horizontal")
    _keep(table, index, frame, kept)
    return frame.drop(*NEWEST), recent


def kept_positions(kept: pl.Series, now: pl.Series) -> pl.Series | None:
    """Where each of the file's records (hashes `now`) stands in the kept rows (hashes `kept`); null
    where it is not kept, or not found within SHIFTS_AT_MOST shifts (read from the file, it gives
    the same row); None when too many are left so (then a join finds them).

    Staff edit rows where they stand, delete some and add some: the records keep their order, each
    stretch of them shifted by the rows deleted or added before it. So the records are matched at
    one shift at a time, each taken from the first record still unmatched that is kept; the records
    before it, not kept, are looked up together (in batches that grow while none is found). That
    costs a few passes over the hashes, where a join builds a table of them all."""
    at = pl.repeat(None, now.len(), dtype=pl.Int64, eager=True).alias("at")
    unmatched = pl.int_range(0, now.len(), dtype=pl.Int64, eager=True)
    shifts, batch, added = 0, 64, 0
    while not unmatched.is_empty() and shifts < SHIFTS_AT_MOST:
        first = unmatched.head(batch)
        values = now.gather(first)
        held = kept.is_in(values.implode()).arg_true()  # where the kept rows hold one of them
        place = dict(zip(kept.gather(held).to_list(), held.to_list(), strict=True))
        found = next((i for i, v in enumerate(values.to_list()) if v in place), None)
        if found is None:  # none of them kept (rows added): read from the file
            unmatched, batch, added = unmatched.slice(first.len()), batch * 2, added + first.len()
            if added > PATCHED_AT_MOST:
                return None
            continue
        added += found
        unmatched = unmatched.slice(found)
        start = int(first[found])
        shifted = unmatched + (place[values[found]] - start)
        inside = (shifted >= 0) & (shifted < kept.len())
        same = inside & (kept.gather(shifted.clip(0, max(kept.len() - 1, 0))) == now.gather(unmatched))
        at = at.scatter(unmatched.filter(same), shifted.filter(same))
        unmatched, shifts, batch = unmatched.filter(~same), shifts + 1, 64
    return at if unmatched.len() <= SPLICED_AT_MOST else None


def _assembled(old: pl.DataFrame, fresh: pl.DataFrame, at: pl.Series) -> pl.DataFrame:
    """Row i is old[at[i]] or, where at[i] is null, the next row of `fresh`. Runs of rows that stand
    together in one frame are slices of it, not copies, unless there are more than SPLICED_AT_MOST."""
    # Signed: with no rows kept (a file that had its header alone), the first added row is row 0.
    after = at.is_null().cast(pl.Int64).cum_sum() + (old.height - 1)
    where = at.cast(pl.Int64).fill_null(after)
    if where.is_empty():
        return old.clear()
    starts = ((where.diff() != 1) | (where == old.height)).fill_null(True).arg_true()
    if starts.len() > SPLICED_AT_MOST:
        return pl.concat([old, fresh], rechunk=False)[where]
    ends = [*starts.to_list()[1:], where.len()]
    parts = []
    for start, end in zip(starts.to_list(), ends, strict=True):
        source = int(where[start])
        if source < old.height:
            parts.append(old.slice(source, end - start))
        else:
            parts.append(fresh.slice(source - old.height, end - start))
    return pl.concat(parts, rechunk=False)


def _parsed(
    table: Table, path: Path, index: records.Index, rows: pl.DataFrame, columns: list[str]
) -> pl.DataFrame | None:
    """The named columns of the indexed records `rows`, read back from the file as text_frames reads
    them; None when the file no longer holds them or polars refuses them."""
    found = records.read_records(path, rows)
    if found is None:
        return None
    header = index.header + b"\n"
    frame = typed.text_block(header, b"".join(r + b"\n" for r in found), columns)
    return frame if frame is not None and frame.height == len(found) else None
