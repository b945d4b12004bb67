"""One field's checks: Frictionless's own cell reading, then what Excel habits and publishing add.

`FieldCheck.check(value)` is the authority for a single cell. `FieldCheck.clean(expr)` is a
vectorised test that is True only where `check` would find nothing, so that only the rare suspicious
cells of a large table go through Python.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import Any

import polars as pl

from sunshine import normalize, typed
from sunshine.markup import FORMULA_PREFIXES
from sunshine.privacy import (
    EMAIL_PRETEST,
    ID_PRETEST,
    MOBILE_PRETEST,
    REFUSALS,
    code_pattern,
    find_personal,
    in_code,
)

FORMULA_START = FORMULA_PREFIXES
# Characters no published text may hold: C0 and C1 controls (not tab and line breaks), bidi controls
# that reorder what a reader sees (U+202E turns "exe.txt" into "txt.exe"), and invisible format
# characters (zero-width spaces and joiners, word joiners, soft hyphens, Hangul fillers, tags).
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
INVISIBLE = re.compile(
    r"[\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200d\u2060-\u2064\u206a-\u206f"
    r"\u3164\ufeff\uffa0\ufff0-\ufffb\U000e0000-\U000e007f]"
)
# In free text, a zero-width joiner may join two emoji (👨‍👩‍👧); in key columns never.
_EMOJI_JOIN = re.compile(
    r"(?<=[\u2600-\u27bf\U0001f000-\U0001faff\ufe0f])\u200d(?=[\u2600-\u27bf\U0001f000-\U0001faff])"
)
_DANGER_CHARS = (
    "\\x{0}-\\x{8}\\x{B}\\x{C}\\x{E}-\\x{1F}\\x{7F}-\\x{9F}\\x{61C}\\x{200E}\\x{200F}\\x{202A}-\\x{202E}\\x{2066}-\\x{2069}"
    "\\x{AD}\\x{34F}\\x{115F}\\x{1160}\\x{17B4}\\x{17B5}\\x{180B}-\\x{180F}\\x{200B}-\\x{200D}\\x{2060}-\\x{2064}"
    "\\x{206A}-\\x{206F}\\x{3164}\\x{FEFF}\\x{FFA0}\\x{FFF0}-\\x{FFFB}\\x{E0000}-\\x{E007F}"
)
# Vectorised pre-test for every cell: those characters, "<", surrounding spaces, a formula start,
# "javascript" or "vbscript" in any case. Everything check() flags matches it (or the personal pre-test).
_WS = "[" + "".join(f"\\x{{{ord(c):X}}}" for c in normalize.SPACES) + "]"
SUSPICIOUS_TEXT = "[" + _DANGER_CHARS + "<]|^" + _WS + "|" + _WS + "$|^[=+\\-@]|(?i:javascript|vbscript)"
# A tag, even unclosed (<img src=x onerror=…), or a script link.
HTML = re.compile(r"<\s*/?\s*[a-zA-Z!?]|(?:javascript|vbscript)\s*:", re.IGNORECASE)
_TYPED_PERSONAL = "[0-9](?:[.\\-]?[0-9]){10}"
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
FIELD_TYPES = {  # Frictionless's field classes
    "string": "StringField",
    "integer": "IntegerField",
    "number": "NumberField",
    "date": "DateField",
    "boolean": "BooleanField",
}
DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]


@dataclass(frozen=True)
class Issue:
    """What is wrong with one cell, before it is placed in a file, row and column."""

    code: str
    message: str
    hint: str = ""
    severity: str = "error"
    fixable: bool = False


def frictionless_field(field: dict[str, Any]) -> Any:
    """The Frictionless field for a Table Schema field, so that cell reading is exactly Frictionless's.

    Frictionless is imported on first use, not with this module: importing it takes a third of a
    second, and a validation whose schemas were found fine before and whose cells all pass the
    vectorised checks reads no cell with it."""
    from frictionless import fields as ffields

    cls = getattr(ffields, FIELD_TYPES.get(field["type"], "AnyField"))
    return cls.from_descriptor({k: v for k, v in field.items() if not k.startswith("x-")})


class FieldCheck:
    @cached_property
    def reader(self) -> Any:
        return frictionless_field(self.field).create_cell_reader()

    def __init__(self, field: dict[str, Any], *, file: str, key: bool = False) -> None:
        self.field = field
        self.name: str = field["name"]
        self.title: str = field.get("title", self.name)
        self.type: str = field["type"]
        self.file = file
        self.constraints: dict[str, Any] = field.get("constraints", {})
        self.required = bool(self.constraints.get("required"))
        self.phones_allowed = bool(field.get("x-phone"))
        self.decimals: int | None = field.get("x-decimals")
        phones = ID_PRETEST if self.phones_allowed else f"{ID_PRETEST}|{MOBILE_PRETEST}"
        self.personal_pretest = f"{phones}|{EMAIL_PRETEST}"
        # A strict code format (no personal number fits it) marks its cells as codes, not personal data.
        self.code = code_pattern(field)
        # Keys, codes and enumerations admit no invisible character at all.
        self.key = (
            key or bool(self.code) or "enum" in self.constraints or bool(self.constraints.get("unique"))
        )
        self._cache: dict[str | None, list[Issue]] = {}

    # The fix command, as a hint names it.
    @property
    def fix(self) -> str:
        return f"sunshine fix {self.file}"

    def check(self, value: str | None) -> list[Issue]:
        """All issues of one cell; None stands for a cell missing from a short row."""
        cached = self._cache.get(value)
        if cached is not None:
            return cached
        try:
            issues = self._frictionless(value)
        except ArithmeticError:
            # Frictionless itself fails on "sNaN" (decimal.InvalidOperation): reported below as not-a-number.
            issues = []
        if value:
            issues += self._extras(value, typed_ok=not any(i.code == "type-error" for i in issues))
            if any(i.code in PERSONAL_CODES for i in issues):
                # "应写作 …" would tell the clerk to type the personal number again, in a cleaner form.
                issues = [
                    i if i.code in PERSONAL_CODES or not i.fixable else _delete_first(i) for i in issues
                ]
        if len(self._cache) < 50_000:
            self._cache[value] = issues
        return issues

    # Frictionless: type, then constraints (none of them when the type is wrong)

    def _frictionless(self, value: str | None) -> list[Issue]:
        _, notes = self.reader(value)
        if not notes:
            return []
        if "type" in notes:
            return [self._type_issue(value or "")]
        names = list(notes)
        if "minimum" in names and "maximum" in names:  # NaN fails both bounds: one error says it
            names.remove("maximum")
        return [self._constraint_issue(name, value or "") for name in names]

    def _type_issue(self, value: str) -> Issue:
        if typed.is_resave(self.field, value):
            return self._resave(value, "type-error")
        if self.type == "date":
            d, reason = normalize.parse_date(value)
            if d and reason:
                return Issue(
                    "type-error",
                    f"“{value}”是 Excel 的日期序号，不是日期",
                    f"应写作 {d.isoformat()}。可运行 {self.fix} 自动改正，或在 Excel 中把这一列设为“文本”后重新输入。",
                    fixable=True,
                )
            if d:
                return Issue(
                    "type-error",
                    "日期格式不对",
                    f"应写作 {d.isoformat()}（格式 YYYY-MM-DD）。可运行 {self.fix} 自动改正。",
                    fixable=True,
                )
            why = f"{reason}，" if reason else ""
            return Issue(
                "type-error",
                "不是有效的日期",
                f"{why}请按 YYYY-MM-DD 填写完整日期，例如 2024-05-03。",
            )
        if self.type in ("number", "integer"):
            plain = normalize.parse_amount(value) if self.type == "number" else normalize.parse_integer(value)
            unit = "数字" if self.type == "number" else "整数"
            if plain is not None:
                return Issue(
                    "type-error",
                    f"不是{unit}（含有货币符号、千位分隔符、单位或全角字符）",
                    f"应写作 {plain}。可运行 {self.fix} 自动改正。",
                    fixable=True,
                )
            return Issue(
                "type-error",
                f"不是{unit}",
                f"只填阿拉伯数字{'和小数点' if unit == '数字' else ''}，例如 1200。",
            )
        if self.type == "boolean":
            yes = "、".join(
                self.field.get("trueValues", DEFAULT_TRUE) + self.field.get("falseValues", DEFAULT_FALSE)
            )
            return Issue("type-error", "不是允许的取值", f"只能填写：{yes}。")
        return Issue("type-error", f"类型不对，应为 {self.type}", "")

    def _resave(self, value: str, code: str) -> Issue:
        """A spelling Excel or WPS writes on saving, with one meaning: read as meant, said as a notice."""
        what = "日期" if self.type == "date" else "数字"
        return Issue(
            code,
            f"Excel 改写了{what}的写法，按 {typed.canonical(self.field, value)} 读取",
            f"发布时规范为 {typed.canonical(self.field, value)}。PR 检查会自动改正；也可运行 {self.fix}。",
            severity="notice",
            fixable=True,
        )

    def _constraint_issue(self, name: str, value: str) -> Issue:
        c = self.constraints
        if name == "required":
            return Issue("constraint-error", "必填项为空", f"请填写“{self.title}”。")
        if name == "pattern":
            return Issue("constraint-error", "格式不对", self._pattern_hint(value))
        if name == "enum":
            allowed = [str(v) for v in c["enum"]]
            near = difflib.get_close_matches(normalize.strip_spaces(value), allowed, n=1, cutoff=0.3)
            guess = f"是不是“{near[0]}”？" if near else ""
            return Issue("constraint-error", "不是允许的取值", f"{guess}只能填写：{'、'.join(allowed)}。")
        if name == "maxLength":
            return Issue(
                "constraint-error",
                f"太长：{len(value)} 个字，最多 {c['maxLength']} 个字",
                "请精简内容。",
            )
        if name == "minLength":
            return Issue("constraint-error", f"太短：最少 {c['minLength']} 个字", "")
        if name in ("minimum", "exclusiveMinimum"):
            return Issue("constraint-error", f"不能小于 {c[name]}", f"请填写不小于 {c[name]} 的数。")
        if name in ("maximum", "exclusiveMaximum"):
            return Issue(
                "constraint-error",
                f"不能大于 {c[name]}",
                f"这个数大得不合常理，是不是把身份证号、电话或银行卡号填进了这一列？请填写不大于 {c[name]} 的数。",
            )
        return Issue("constraint-error", f"不满足约束 {name}", "")

    def _pattern_hint(self, value: str) -> str:
        fixed = normalize.halfwidth(normalize.strip_spaces(value))
        pattern = re.compile(f"^{self.constraints['pattern']}$")
        desc = self.field.get("description", "")
        if fixed != value and pattern.match(fixed):
            return f"应写作 {fixed}（去掉空格、全角改半角）。可运行 {self.fix} 自动改正。"
        if "e+" in value.lower() or re.fullmatch(r"[0-9.]+[eE]\+?[0-9]+", value):
            return "Excel 把编号显示成了科学计数法。请把这一列设为“文本”后重新输入完整编号。"
        return f"请按规定格式填写。{desc}"

    # Beyond Frictionless

    def _extras(self, value: str, *, typed_ok: bool) -> list[Issue]:
        """Checks of the cell as raw text, whatever its declared type, then those of its type."""
        out: list[Issue] = []
        if CONTROL.search(value):
            out.append(
                Issue("control-character", "含有看不见的控制字符", "请删除这个单元格里的特殊字符后重新输入。")
            )
        if BIDI.search(value):
            out.append(
                Issue(
                    "bidi-control",
                    "含有改变文字显示方向的控制字符（从右到左等），显示的内容会与实际内容不同",
                    "请删除这个单元格后重新输入文字，不要从网页或聊天软件中复制粘贴。",
                )
            )
        invisible = INVISIBLE.search(value if self.key else _EMOJI_JOIN.sub("", value))
        if invisible and not (value.startswith("\ufeff") and INVISIBLE.search(value[1:]) is None):
            out.append(
                Issue(
                    "invisible-character",
                    f"含有看不见的格式字符 U+{ord(invisible.group()):04X}（零宽空格等）"
                    + ("，编号和代码中不允许" if self.key else ""),
                    "请删除这个单元格后重新输入，不要从网页或聊天软件中复制粘贴。",
                )
            )
        stripped = normalize.strip_spaces(value)
        if stripped != value:
            out.append(
                Issue(
                    "whitespace",
                    "前后有多余的空格（含全角空格）",
                    f"应写作“{stripped}”。可运行 {self.fix} 自动改正。",
                    fixable=True,
                )
            )
        out += self._text_extras(value)
        if typed_ok and self.type in ("integer", "number"):
            out += self._number_extras(stripped)
        elif typed_ok and self.type == "date" and not normalize.ISO_DATE.match(value):
            d, _ = normalize.parse_date(value, serials=False)
            if typed.is_resave(self.field, value):
                out.append(self._resave(value, "date-format"))
            elif d and stripped == value:
                full = normalize.has_fullwidth(value)
                out.append(
                    Issue(
                        "fullwidth-characters" if full else "date-format",
                        "日期含全角字符" if full else "日期没有写成 YYYY-MM-DD",
                        f"应写作 {d.isoformat()}。可运行 {self.fix} 自动改正。",
                        fixable=True,
                    )
                )
        return out

    def _number_extras(self, value: str) -> list[Issue]:
        lower = value.lower()
        if self.type == "number" and any(w in lower for w in ("nan", "inf")):
            return [Issue("not-a-number", "不是有限的数（NaN 或无穷大）", "请填写实际金额；没有金额时留空。")]
        plain = normalize.PLAIN_INTEGER if self.type == "integer" else normalize.PLAIN_NUMBER
        if "e" in lower and self.type == "number":
            return [
                Issue(
                    "number-format",
                    "用了科学计数法",
                    f"请写出完整的数{self._plain_number(value)}，例如 1200.00。",
                )
            ]
        if normalize.has_fullwidth(value):
            half = normalize.halfwidth(value)
            return [
                Issue(
                    "fullwidth-characters",
                    "数字是全角字符",
                    f"应写作 {half}。可运行 {self.fix} 自动改正。",
                    fixable=True,
                )
            ]
        if not plain.match(value):
            if value != normalize.strip_spaces(value):
                return []  # already reported as whitespace
            return [Issue("number-format", "数字写法不规范", "只填阿拉伯数字、负号和小数点，例如 1200.50。")]
        if self.decimals is not None and normalize.decimals(value) > self.decimals:
            return [
                Issue(
                    "too-many-decimals",
                    f"小数位数超过 {self.decimals} 位",
                    f"金额最多保留 {self.decimals} 位小数，例如 {Decimal(value).quantize(Decimal(1).scaleb(-self.decimals))}。",
                )
            ]
        return []

    def _plain_number(self, value: str) -> str:
        try:
            d = Decimal(value)
        except Exception:
            return ""
        if not d.is_finite() or abs(d) > 10**15:
            return ""
        return f"（{d:f}）"

    def _text_extras(self, value: str) -> list[Issue]:
        out: list[Issue] = []
        # A value in the field's declared code format (a village code, a grid number) is a code,
        # even when its digits happen to look like a phone or an old ID number.
        if self.code and self.code.match(value):
            found = in_code(value)
        else:
            found = find_personal(value, phones_allowed=self.phones_allowed)
        for f in found:
            out.append(PERSONAL[f.kind](f.masked))
        if self.field.get("x-person-name") and ("?" in value or "\ufffd" in value):
            out.append(
                Issue(
                    "lost-character",
                    "姓名中有“?”：多半是文件另存为 GBK 时保存不了的生僻字（如“䶮”）",
                    "请在 Excel/WPS 中重新输入这个字，并“另存为 → CSV UTF-8（逗号分隔）”或 Excel 工作簿（.xlsx）。",
                )
            )
        if value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
            out.append(
                Issue(
                    "formula-injection",
                    "以 = + - @ 或制表符开头，在 Excel 中打开时会被当作公式执行",
                    "请删除开头的符号，或在前面加上文字说明。",
                )
            )
        if HTML.search(value):
            out.append(
                Issue(
                    "html-content",
                    "含有网页代码（HTML 标签或 javascript: 链接）",
                    "请只填写纯文字，删除尖括号中的代码。",
                )
            )
        return out

    # Vectorised: True where `check` is certain to find nothing

    def clean(self, c: pl.Expr) -> pl.Expr:
        cons = self.constraints
        conds: list[pl.Expr] = []
        # The strict forms of integer, number, date and boolean below admit no spaces or control
        # characters; text gets one combined scan for everything suspicious.
        if self.type == "string":
            if "enum" in cons:
                conds.append(c.is_in([str(v) for v in cons["enum"]]))
            if "pattern" in cons:
                conds.append(c.str.contains(f"^(?:{cons['pattern']})$"))
            if "maxLength" in cons:
                conds.append(c.str.len_chars() <= cons["maxLength"])
            if "minLength" in cons:
                conds.append(c.str.len_chars() >= cons["minLength"])
            if self.field.get("x-person-name"):
                conds.append(~c.str.contains("[?\ufffd]"))
        elif self.type == "integer":
            conds.append(c.str.contains(r"^-?[0-9]{1,15}$"))
            conds += self._bounds(c.cast(pl.Int64, strict=False))
        elif self.type == "number":
            places = "+" if self.decimals is None else "{1," + str(self.decimals) + "}"
            conds.append(c.str.contains(r"^-?[0-9]{1,15}(\.[0-9]" + places + ")?$"))
            conds += self._bounds(c.cast(pl.Float64, strict=False))
        elif self.type == "date":
            conds.append(c.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))
            conds.append(c.str.to_date("%Y-%m-%d", strict=False).is_not_null())
        elif self.type == "boolean":
            conds.append(
                c.is_in(
                    self.field.get("trueValues", DEFAULT_TRUE) + self.field.get("falseValues", DEFAULT_FALSE)
                )
            )
        else:
            conds.append(pl.lit(False))
        # Every cell, whatever its type: dangerous text and personal data (a code in its format excepted).
        if self.type in ("integer", "number", "date", "boolean"):
            # The strict forms above admit digits, "-" and "." only: no dangerous character, and a
            # personal number only as eleven digits or more, perhaps split by "." or "-".
            conds.append(~c.str.contains(_TYPED_PERSONAL))
        elif self.type == "string" and "enum" in cons and self._enum_clean():
            pass  # a cell in the enumeration is as clean as the enumeration; any other fails is_in
        elif self.code is not None:
            # A cell in the code format is not personal data; any other fails the pattern above.
            conds.append(~c.str.contains(f"{SUSPICIOUS_TEXT}|{ID_PRETEST}|{EMAIL_PRETEST}"))
        else:
            conds.append(~c.str.contains(f"{SUSPICIOUS_TEXT}|{self.personal_pretest}"))
        ok = pl.all_horizontal(conds).fill_null(False)
        return pl.when(c == "").then(pl.lit(not self.required)).otherwise(ok)

    def _enum_clean(self) -> bool:
        """Whether every value of the enumeration passes the text checks (a schema could list an ID)."""
        return all(not self._extras(str(v), typed_ok=True) for v in self.constraints["enum"])

    def _bounds(self, n: pl.Expr) -> list[pl.Expr]:
        cons = self.constraints
        out = []
        if "minimum" in cons:
            out.append(n >= cons["minimum"])
        if "maximum" in cons:
            out.append(n <= cons["maximum"])
        if "exclusiveMinimum" in cons:
            out.append(n > cons["exclusiveMinimum"])
        if "exclusiveMaximum" in cons:
            out.append(n < cons["exclusiveMaximum"])
        return out


def _delete_first(issue: Issue) -> Issue:
    return Issue(
        issue.code, issue.message, "这个单元格含有个人信息：请先删除个人信息，再按格式填写。", issue.severity
    )


def _personal(code: str, message: str, hint: str):
    def make(masked: str) -> Issue:
        return Issue(code, message.format(masked=masked), hint)

    return make


PERSONAL = {kind: _personal(*texts) for kind, texts in REFUSALS.items()}

PERSONAL_CODES = ("personal-id", "personal-id-like", "personal-phone", "personal-bank-card", "personal-email")
