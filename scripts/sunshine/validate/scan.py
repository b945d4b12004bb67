"""Read one table in batches and check every cell: vectorised first, Python only for suspicious cells.

Rows are numbered as a spreadsheet shows them and as Frictionless reports them: the header is row 1,
blank rows count, and a quoted cell spanning several lines is one row.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from sunshine.package import Table
from sunshine.problems import Problem
from sunshine.validate import shape
from sunshine.validate.cells import PERSONAL_CODES, FieldCheck, Issue
from sunshine.validate.collect import Collector, cell_problem
from sunshine.validate.rules import row_rules

BLOCK = 1 << 20
_LINE_END = re.compile(r"\r\n?|\n")  # a lone CR ends a line too (old Mac Excel)
ROW = "__row"
# Rows checked at once. A county's 1M petitions in blocks of 100,000 peaked at 477-501 MB, over the
# 500 MB a validation may take; blocks of 50,000 take 470-482 MB, and each block is still large
# enough for the vectorised checks to cost no more per row.
CHUNK_ROWS = 50_000
PER_BATCH = 200  # rows of one whole-row problem looked at per batch; the collector keeps fewer
INVALID_TEXT = 5000  # rows with too few or too many cells checked one by one; beyond that only counted
INVALID_TEXT_CHARS = 64 << 20  # and at most this much of their text
PER_COLUMN = 2000  # suspicious cells of one column looked at one by one; beyond that only counted
# Arrow's memory from the C library's allocator, which hands each freed batch back to the next: a
# county's petitions validate in 430-450 MB at peak with it, 475-510 MB with pyarrow's default
# (mimalloc), in the same time. Set for the process, as ARROW_DEFAULT_MEMORY_POOL=system would.
pa.set_memory_pool(pa.system_memory_pool())


@dataclass
class Scanned:
    """What later checks need from a table: its key columns (empty cell = null) with row numbers."""

    keys: pl.DataFrame
    rows: int = 0
    complete: bool = True  # every row's keys were read: other tables may be checked against them


def _reader(path: Path, ncols: int, invalid: list[tuple[int, str]], *, skip: int) -> pacsv.CSVStreamingReader:
    names = [f"c{i}" for i in range(ncols)]
    kept = [0]

    def handler(row: Any) -> str:
        # Keep the text of the first rows only: a file where every row is broken must not fill memory.
        keep = len(invalid) < INVALID_TEXT and kept[0] + len(row.text) <= INVALID_TEXT_CHARS
        kept[0] += len(row.text) if keep else 0
        invalid.append((row.number, row.text if keep else None))
        return "skip"

    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(
            use_threads=False, column_names=names, skip_rows=skip, block_size=BLOCK
        ),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=handler
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _chunks(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.Table]:
    """pyarrow's small batches gathered into chunks large enough for vectorised checks to pay off."""
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in batches:
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        rows += batch.num_rows
        if rows >= CHUNK_ROWS:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)


def _has_quotes(path: Path) -> bool:
    """Whether the file holds a double quote at all: a file without one has none out of place
    (a county's petitions are usually so). 0.2 s for 350 MB."""
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            if b'"' in block:
                return True
    return False


def _stray_column(line: str) -> int | None:
    """The position of the cell where a quote closes and other text follows, in a line that starts
    a record; None when the line alone does not show it (the record began on an earlier line)."""
    column, i, start, quoted = 0, 0, True, False
    while i < len(line):
        c = line[i]
        if quoted:
            if c == '"':
                if line[i + 1 : i + 2] == '"':
                    i += 2
                    continue
                quoted = False
                if line[i + 1 : i + 2] not in ("", ",", "\r", "\n"):
                    return column
        elif c == '"' and start:
            quoted = True
        elif c == ",":
            column += 1
            start = True
            i += 1
            continue
        start = False
        i += 1
    return None


def _shape(text: str) -> str:
    """Digits as 9 and letters as A: 2024-0000020 and 2024-0000019 have one shape."""
    return re.sub("[A-Za-z]", "A", re.sub("[0-9]", "9", text.strip()))


def _never_closed(text: str) -> bool:
    """Whether a quote in this text opens a cell that the text never closes."""
    try:
        for _ in csv.reader(io.StringIO(text), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


class TableScan:
    def __init__(
        self,
        table: Table,
        path: Path,
        file: str,
        ncols: int,
        key_fields: list[str],
        *,
        header_row: int = 1,
        rows: list[int] | None = None,
    ) -> None:
        """`rows`: when the file holds some records of another (validate/since.py), the row each of
        its records stands at there; problems and keys are numbered by it."""
        self.first_row = header_row + 1
        self.rows = pl.Series("rows", rows, dtype=pl.Int64) if rows is not None else None
        self.table = table
        self.path = path
        self.file = file
        self.ncols = ncols
        self.fields = table.fields
        self.nfields = len(self.fields)
        self.present = min(ncols, self.nfields)
        self.checks = [FieldCheck(f, file=file, key=f["name"] in key_fields) for f in self.fields]
        self.key_fields = [k for k in key_fields if table.field_names.index(k) < self.present]
        self.invalid: list[tuple[int, str]] = []
        self.unclosed: set[int] = set()  # rows reported as unclosed-quote
        self.done_invalid = 0
        self.examined: dict[str, int] = {}
        self.complete = True

    # Row numbers

    def _row_numbers(self, start: int, n: int) -> pl.Series:
        """Spreadsheet rows of valid records start..start+n-1, skipping the rows pyarrow set aside."""
        k = pl.Series("k", range(start, start + n), dtype=pl.Int64)
        first = self.first_row
        if not self.invalid:
            return self._real(k + first)
        nums = sorted(number for number, _ in self.invalid)
        adjusted = pl.Series([num - i - first for i, num in enumerate(nums)], dtype=pl.Int64)
        return self._real(k + first + adjusted.search_sorted(k, side="right").cast(pl.Int64))

    def _real(self, rows: pl.Series) -> pl.Series:
        return rows if self.rows is None else self.rows.gather(rows - self.first_row).alias(rows.name)

    def _real_row(self, row: int) -> int:
        return row if self.rows is None else int(self.rows[row - self.first_row])

    # The scan

    def run(self, collector: Collector) -> Scanned:
        self.collector = collector
        keys: list[pl.DataFrame] = []
        valid = 0
        try:
            for chunk in _chunks(_reader(self.path, self.ncols, self.invalid, skip=self.first_row - 1)):
                df = pl.from_arrow(chunk)
                assert isinstance(df, pl.DataFrame)
                df = df.rename({f"c{i}": self.fields[i]["name"] for i in range(self.present)})
                df = df.with_columns(self._row_numbers(valid, df.height).alias(ROW))
                valid += df.height
                last = df[ROW][-1]
                found = self._batch(df)
                found += self._invalid_rows(upto=last, keys=keys)
                self._emit(found, collector)
                keys.append(self._keys(df))
                del df, chunk
                pa.default_memory_pool().release_unused()
        except (pa.ArrowInvalid, OSError) as exc:
            self.complete = False
            # A row larger than the reader's block: find it, and the limit it breaks, record by record.
            found = shape.first_problem(self.path, self.file)
            collector.add(
                found
                or Problem(
                    code="source-error",
                    file=self.file,
                    message="无法按 CSV 格式读取（常见原因：引号没有成对）",
                    hint="检查有英文双引号的单元格，确保引号成对；或在 Excel/WPS 中重新“另存为 CSV UTF-8”。",
                    value=str(exc).split(":")[0][:80],
                )
            )
        self._emit(self._invalid_rows(upto=None, keys=keys), collector)
        if self.complete and _has_quotes(self.path):
            self._emit(self._stray_quote(), collector)
        frame = pl.concat(keys, how="vertical") if keys else self._empty_keys()
        return Scanned(keys=frame, rows=valid + len(self.invalid), complete=self.complete)

    def _emit(self, found: list[tuple[int, int, Problem]], collector: Collector) -> None:
        found.sort(key=lambda t: (t[0], t[1]))
        for _, _, problem in found:
            collector.add(problem)

    def _empty_keys(self) -> pl.DataFrame:
        return pl.DataFrame(schema={ROW: pl.Int64, **{k: pl.String for k in self.key_fields}})

    def _keys(self, df: pl.DataFrame) -> pl.DataFrame:
        return df.select(
            pl.col(ROW),
            *[pl.when(pl.col(k) == "").then(None).otherwise(pl.col(k)).alias(k) for k in self.key_fields],
        )

    # Valid rows: vectorised

    def _batch(self, df: pl.DataFrame) -> list[tuple[int, int, Problem]]:
        found: list[tuple[int, int, Problem]] = []
        names = [f["name"] for f in self.fields[: self.present]]
        names += [f"c{i}" for i in range(self.nfields, self.ncols)]
        blank = pl.all_horizontal([pl.col(n) == "" for n in names]) if names else pl.lit(True)
        is_blank = df.select(blank).to_series()
        body = df
        if is_blank.any():
            blank_rows = df.filter(is_blank)[ROW]
            for row in blank_rows.head(PER_BATCH):
                found.append((row, 0, self._blank_problem(row)))
            self._more("blank-row", len(blank_rows) - PER_BATCH)
            body = df.filter(~is_blank)
        if body.height == 0:
            return found
        checks = self.checks[: self.present]
        # All columns' vectorised tests in one pass; Python only for the columns with suspicious cells.
        masks = body.select([(~c.clean(pl.col(c.name))).alias(f"__bad{i}") for i, c in enumerate(checks)])
        counts = masks.sum().row(0) if checks else ()
        for pos, check in enumerate(checks):
            if counts[pos]:
                found += self._column(body.filter(masks[f"__bad{pos}"]), pos, check)
        found += self._shape(body)
        absorbed = self._absorbed_rows(body, names)
        if absorbed:
            # The cell a quote opened holds the rows below it: its problems, and those of the cells
            # after it, are that quote's (as for a row with too few cells, in _python_row).
            opened = {row: pos for row, pos, _ in absorbed}
            found = [(r, pos, p) for r, pos, p in found if r not in opened or pos < opened[r]]
            found += absorbed
        found += shape.large_cells(body, names, ROW, self.file, limit=PER_BATCH)
        for row, pos, issue, fld in row_rules(self.table, body, ROW):
            found.append((row, pos, cell_problem(issue, file=self.file, row=row, field=fld, value=None)))
        return found

    def _more(self, code: str, n: int) -> None:
        self.collector.more(self.file, code, n)

    def _column(self, bad_rows: pl.DataFrame, pos: int, check: FieldCheck) -> list[tuple[int, int, Problem]]:
        name = check.name
        bad = bad_rows.select(ROW, name)
        seen = self.examined.get(name, 0)
        budget = max(0, PER_COLUMN - seen)
        self.examined[name] = seen + bad.height
        out = []
        for row, value in bad.head(budget).iter_rows():
            for issue in check.check(value):
                out.append(
                    (row, pos, cell_problem(issue, file=self.file, row=row, field=check.field, value=value))
                )
        if budget < bad.height:
            self._more(f"“{name}”列的问题", bad.height - budget)
            out += self._personal_beyond_budget(bad.slice(budget), pos, check)
        return out

    def _personal_beyond_budget(
        self, rest: pl.DataFrame, pos: int, check: FieldCheck
    ) -> list[tuple[int, int, Problem]]:
        """Past the budget, personal data is still looked for: it must never pass unnoticed."""
        if check.type != "string" or all(self.collector.full(self.file, c) for c in PERSONAL_CODES):
            return []
        out = []
        suspects = rest.filter(pl.col(check.name).str.contains(check.personal_pretest))
        for row, value in suspects.iter_rows():
            for issue in check.check(value):
                if issue.code in PERSONAL_CODES:
                    out.append(
                        (
                            row,
                            pos,
                            cell_problem(issue, file=self.file, row=row, field=check.field, value=value),
                        )
                    )
        return out

    def _shape(self, body: pl.DataFrame) -> list[tuple[int, int, Problem]]:
        """A table saved with full-width commas has a single column: say so on each row."""
        if self.ncols != 1 or self.nfields < 2:
            return []
        first = self.fields[0]["name"]
        rows = body.filter(pl.col(first).str.contains("，") & ~pl.col(first).str.contains(",")).head(
            PER_BATCH
        )
        return [(row, 0, self._fullwidth_separator(row)) for row in rows[ROW]]

    # Quotes out of place that leave every row its number of cells

    def _stray_quote(self) -> list[tuple[int, int, Problem]]:
        """The record where a quote closes a cell and other text follows: pyarrow reads on, dropping
        the quotes ("老李家"门口 becomes 老李家门口) or joining two cells and splitting a later one
        (1,112.35 becomes 1 and 112.35); csv's strict mode stops there."""
        with self.path.open(encoding="utf-8-sig", newline="", errors="replace") as f:
            reader = csv.reader(f, strict=True)
            for _ in range(self.first_row - 1):
                next(reader, None)
            n = 0
            try:
                for _ in reader:
                    n += 1
            except csv.Error as exc:
                row = self._real_row(self.first_row + n)
                if "unexpected end of data" in str(exc):  # a quote opened and never closed
                    if row in self.unclosed:  # found already, by the rows it read into one cell
                        return []
                    return [(row, 0, self._quote_problem("unclosed-quote", row, to_the_end=True))]
                return [(row, 0, self._quote_problem("stray-quote", row, self._line(reader.line_num)))]
        return []

    def _line(self, number: int) -> str:
        with self.path.open(encoding="utf-8-sig", newline="", errors="replace") as f:
            for n, line in enumerate(f, 1):
                if n == number:
                    return line
        return ""

    def _absorbed_rows(self, body: pl.DataFrame, names: list[str]) -> list[tuple[int, int, Problem]]:
        """A quote opened in one row and closed in a later one reads the rows between into one cell:
        a cell with a line that starts like a row of this table (its key, then a comma) is that."""
        key = next((n for n in self.table.primary_key if n in names), None)
        broken = [pl.col(n).str.contains("[\r\n]") for n in names]
        if key is None or not broken:
            return []
        out = []
        for row, own, *cells in (
            body.filter(pl.any_horizontal(broken))
            .select([ROW, pl.col(key).alias("__key"), *names])
            .iter_rows()
        ):
            if not own:
                continue
            for pos, cell in enumerate(cells):
                lines = _LINE_END.split(cell)[1:] if cell else []
                if any(_shape(line.partition(",")[0]) == _shape(own) for line in lines if "," in line):
                    out.append((row, pos, self._quote_problem("unclosed-quote", row, at=pos)))
                    self.unclosed.add(row)
                    break
        return out[:PER_BATCH]

    def _quote_problem(
        self, code: str, row: int, line: str = "", *, to_the_end: bool = False, at: int | None = None
    ) -> Problem:
        """A quote out of place in this row: in its `line` (stray-quote), or opening the cell at
        position `at` (unclosed-quote, when known)."""
        position = _stray_column(line) if code == "stray-quote" else at
        check = self.checks[position] if position is not None and position < len(self.checks) else None
        where = {"column": check.name, "column_title": check.title} if check is not None else {}
        if code == "stray-quote":
            message = (
                "这一行的英文双引号用错了位置：引号结束了单元格，后面又跟着别的文字。"
                "这样读出来的内容和表格里看到的不同：引号会被吞掉，或者几个单元格被读成一个"
            )
            hint = (
                '找到这一行中的英文双引号“"”：单元格里要写引号时，把整个单元格用英文双引号括起来，'
                '里面的引号写两次（""）；或改用中文引号“”，或删除多余的引号。'
                "在 Excel/WPS 中“另存为 CSV UTF-8”会自动处理。"
            )
        else:
            below = "从这里到文件末尾" if to_the_end else "下面几行"
            message = f"这一行有一个英文双引号没有配对，{below}都被读进了同一个单元格"
            hint = '找到这一行以英文双引号“"”开头的单元格，补上结尾的引号或删除开头的引号。'
        return Problem(code=code, file=self.file, row=row, message=message, hint=hint, **where)

    # Rows pyarrow set aside (too few or too many cells): parsed and checked in Python

    def _invalid_rows(self, upto: int | None, keys: list[pl.DataFrame]) -> list[tuple[int, int, Problem]]:
        found: list[tuple[int, int, Problem]] = []
        todo = sorted((self._real_row(number), text) for number, text in self.invalid[self.done_invalid :])
        if upto is not None:
            todo = [t for t in todo if t[0] <= upto]
        self.done_invalid += len(todo)
        key_rows = []
        unread = sum(1 for _, text in todo if text is None)
        self._more("列数不对的行", unread)
        self.complete = self.complete and not unread
        for number, text in todo:
            if text is None:
                continue
            try:
                cells = next(csv.reader(io.StringIO(text)), [])
            except csv.Error:  # a cell past csv's own limit (128 K characters)
                found.append((number, -1, shape.cell_too_large(self.file, number, None, None)))
                self.complete = False
                continue
            found += self._python_row(number, cells, unclosed=_never_closed(text))
            if len(cells) > shape.MAX_COLUMNS:  # no key can be told apart in such a row
                self.complete = False
                continue
            key_rows.append(
                {ROW: number}
                | {
                    k: (cells[i] or None) if (i := self.table.field_names.index(k)) < len(cells) else None
                    for k in self.key_fields
                }
            )
        if key_rows:
            keys.append(pl.DataFrame(key_rows, schema=self._empty_keys().schema))
        return found

    def _python_row(
        self, row: int, cells: list[str], *, unclosed: bool = False
    ) -> list[tuple[int, int, Problem]]:
        """The problems of a row with too few or too many cells (`unclosed`: its text opens a quote it
        does not close)."""
        if len(cells) > shape.MAX_COLUMNS:  # one problem, not one per cell
            return [(row, -1, shape.too_many_columns(self.file, row, len(cells)))]
        out: list[tuple[int, int, Problem]] = [
            (row, pos, shape.cell_too_large(self.file, row, pos + 1, len(cell)))
            for pos, cell in enumerate(cells)
            if len(cell) > shape.MAX_CELL_CHARS
        ]
        if (size := sum(len(c.encode("utf-8")) for c in cells)) > shape.MAX_ROW_BYTES:
            out.append((row, -1, shape.row_too_long(self.file, row, size)))
        blank = True
        # Frictionless checks a row against the fields the header names: a field missing from the
        # header is reported once as missing-label, a column beyond the schema is not checked.
        for pos, check in enumerate(self.checks[: self.present]):
            value = cells[pos] if pos < len(cells) else None
            issues = check.check(value)
            if value or any(i.code == "type-error" for i in issues):
                blank = False
            if pos >= len(cells):
                out += [(row, pos, p) for p in self._missing_problems(row, pos)]
                continue
            for issue in issues:
                out.append(
                    (row, pos, cell_problem(issue, file=self.file, row=row, field=check.field, value=value))
                )
        for pos in range(self.nfields, min(self.ncols, len(cells))):
            blank = blank and not cells[pos]
        for i in range(self.ncols, len(cells)):
            # Listed first in its row: an unquoted comma is usually what put the other cells out of place.
            out.append((row, -1, self._extra_problem(row, i, cells[i])))
        if blank:
            return [(row, 0, self._blank_problem(row))]
        if len(cells) == 1 and "，" in cells[0] and self.nfields > 1:
            out.append((row, 0, self._fullwidth_separator(row)))
        # The cell a quote opened holds the rest of the row and the rows below: to the end of the file
        # when it is never closed (the last cell), else up to a row where a quote closes it.
        quoted = (
            len(cells) - 1
            if unclosed and cells
            else next((i for i, c in enumerate(cells) if _LINE_END.search(c) and c.count(",") >= 2), None)
        )
        if len(cells) < self.present and quoted is not None:
            self.unclosed.add(row)
            # The columns that cell seems to leave out or fill wrongly would only bury the one thing
            # to fix: the problems of the cells before it are kept.
            out = [(r, pos, p) for r, pos, p in out if 0 <= pos < quoted]
            out.append((row, 0, self._quote_problem("unclosed-quote", row, to_the_end=unclosed, at=quoted)))
        return out

    # Problems of whole rows

    def _blank_problem(self, row: int) -> Problem:
        return Problem(
            code="blank-row",
            file=self.file,
            row=row,
            message="空行",
            hint=f"删除这一行。可运行 sunshine fix {self.file} 自动删除空行。",
            fixable=True,
        )

    def _missing_problems(self, row: int, pos: int) -> list[Problem]:
        check = self.checks[pos]
        out = [
            Problem(
                code="missing-cell",
                file=self.file,
                row=row,
                column=check.name,
                column_title=check.title,
                message=f"这一行少了第 {pos + 1} 列“{check.title}”",
                hint="这一行的逗号比表头少。检查是否有单元格里的逗号没加引号，或漏填了列。",
            )
        ]
        for issue in check.check(None):
            out.append(cell_problem(issue, file=self.file, row=row, field=check.field, value=None))
        return out

    def _extra_problem(self, row: int, pos: int, value: str) -> Problem:
        return cell_problem(
            Issue(
                "extra-cell",
                f"这一行多出第 {pos + 1} 列",
                "这一行的逗号比表头多。单元格里有英文逗号时要用英文双引号把整个单元格括起来；"
                "在 Excel 中“另存为 CSV UTF-8”会自动处理。",
            ),
            file=self.file,
            row=row,
            field=None,
            value=value,
        )

    def _fullwidth_separator(self, row: int) -> Problem:
        return Problem(
            code="fullwidth-separator",
            file=self.file,
            row=row,
            message="这一行用中文逗号“，”分隔各列，整行被当成了一列",
            hint="列与列之间要用英文逗号“,”。请在 Excel 或 WPS 中重新输入这一行，不要手工输入分隔符。",
        )
