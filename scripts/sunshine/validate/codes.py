"""Every problem code `sunshine validate` reports: what it means and how a clerk fixes it.

Codes that Frictionless also knows keep Frictionless's name and meaning. The table of codes in
CONTRIBUTING.md is generated from here (`sunshine docs`), and a test fails when it drifts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """One problem code: its meaning and the fix, both in the words a clerk reads."""

    meaning: str
    fix: str


FRICTIONLESS = {
    "encoding-error": Code(
        "文件不是 UTF-8 编码（指出实际编码，或第一处无法识别的行）",
        "在 Excel 或 WPS 中另存为“CSV UTF-8（逗号分隔）”，或运行 `sunshine fix`。",
    ),
    "incorrect-label": Code(
        "表头某一列的名称前后有空格或用了全角字母", "把第一行恢复成原来的列名；可运行 `sunshine fix`。"
    ),
    "missing-label": Code("表头缺少某一列（列按名称对应，顺序不限）", "补上这一列；不知道填什么时可以留空。"),
    "extra-label": Code(
        "表头多出表结构中没有的列，或某一列的表头是空的",
        "删除多出的列，或按提示改成缺少的列名（列的顺序不限）。",
    ),
    "duplicate-label": Code("表头某一列与前面的列重名", "删除重复的列。"),
    "missing-cell": Code(
        "某一行的单元格比表头少", "多半是内容里有逗号或换行，用 Excel 或 WPS 重新保存即可。"
    ),
    "extra-cell": Code("某一行的单元格比表头多", "多半是内容里有逗号或换行，用 Excel 或 WPS 重新保存即可。"),
    "blank-row": Code("空行", "删除空行；可运行 `sunshine fix`。"),
    "blank-before-header": Code(
        "表头前有空行：表头要在第 1 行，网站和数据库都从第 1 行读表头",
        "删除表头前的空行；可运行 `sunshine fix`。",
    ),
    "type-error": Code(
        "单元格不是这一列的类型（日期、整数、数字、是/否）；Excel 另存时改写的 `2024/1/9`、`1,924` 只作提示",
        "按提示改写，例如日期写成 `2024-05-03`，金额只写数字；只是提示的，PR 检查会自动改正。",
    ),
    "constraint-error": Code(
        "单元格不满足约束：必填、格式、取值范围、长度、最小值",
        "补上必填项；只从提示列出的取值中选；编号变成 `3.30102E+11` 时把这一列设为“文本”后重新输入。",
    ),
    "unique-error": Code("应当唯一的列出现了重复值", "给新记录换一个没有用过的编号。"),
    "primary-key": Code("主键为空或重复", "给新记录换一个没有用过的编号。"),
    "foreign-key": Code(
        "引用的编号在另一张表中不存在",
        "编号要和被引用的表（例如 `data/grids.csv`）中的一致；新网格、新村要先加到那张表中。",
    ),
    "source-error": Code("文件无法按 CSV 读取", "在 Excel 或 WPS 中重新另存为“CSV UTF-8（逗号分隔）”。"),
}

OWN = {
    "descriptor-error": Code(
        "datapackage.json 或表结构文件缺失、不是有效的 JSON",
        "请数据管理员改正表结构文件；工作人员不需要修改它。",
    ),
    "missing-file": Code("数据包中的表文件不存在", "重新上传完整的表格，文件名和原来一致。"),
    "empty-file": Code("文件是空的，没有表头", "重新上传完整的表格，文件名和原来一致。"),
    "unsafe-path": Code(
        "文件或 data/ 目录是符号链接，或位于 data/ 之外", "上传真实的文件，不要上传快捷方式或链接。"
    ),
    "file-too-large": Code("文件超过大小上限（默认 50 MB）", "检查是否导出了无关的数据或整个县的数据。"),
    "unknown-file": Code("data/ 中有不属于数据包的文件", "删除这些文件，`data/` 中只放数据包列出的表。"),
    "encoding": Code(
        "文件是 GBK/GB18030 编码，已按此编码读取（提示）",
        "不用改；PR 检查会自动转为 UTF-8，或运行 `sunshine fix`。",
    ),
    "line-ends": Code(
        "各行以单独的回车符（CR）结尾（旧版 Mac 版 Excel 的“CSV（Macintosh）”），已按此读取（提示）",
        "不用改；PR 检查会统一为标准换行符，或运行 `sunshine fix`。",
    ),
    "header-title": Code(
        "表头用了列的中文名称，已按对应的英文列名读取（提示）",
        "不用改；PR 检查会自动改为英文列名，或运行 `sunshine fix`。",
    ),
    "workbook": Code(
        "data/ 中的 Excel 工作簿（以表名命名），按其内容校验（提示）",
        "不用改；PR 检查会把它转换为同名的 CSV，或运行 `sunshine fix data/表名.xlsx`。",
    ),
    "backup-file": Code("sunshine fix 留下的 .orig.csv 备份（提醒）", "核对修复结果后删除备份文件。"),
    "error-limit": Code("同类问题太多，只列出前 100 个（提醒）", "先改正列出的问题，再检查一次。"),
    "fullwidth-separator": Code(
        "用中文逗号“，”分隔了各列", "不要手工输入分隔符，在 Excel 或 WPS 中另存为 CSV。"
    ),
    "unclosed-quote": Code(
        "英文双引号没有配对，后面几行被读进了同一个单元格", "补上配对的双引号，或删除多余的双引号。"
    ),
    "stray-quote": Code(
        "英文双引号用错了位置：引号结束单元格后又跟着别的文字，读出的内容和看到的不同",
        '单元格里要写英文双引号时，把整个单元格用英文双引号括起来，里面的引号写两次（""）；或改用中文引号“”，或删除多余的引号。',
    ),
    "too-many-columns": Code(
        "表头或某一行超过 1000 列", "删除右侧多余的列，或检查是否把整张表导出成了一行。"
    ),
    "cell-too-large": Code(
        "单元格超过 Excel 的上限 32767 个字符（常见原因：引号没有配对）",
        "找到这一行，补上结尾的双引号或删除开头的双引号。",
    ),
    "row-too-long": Code(
        "一行超过 1 MB，或一条记录超过 1 MB 还没有结束（常见原因：引号没有配对）",
        "找到这一行，补上结尾的双引号或删除开头的双引号。",
    ),
    "whitespace": Code("单元格前后有空格或全角空格", "删除空格；可运行 `sunshine fix`。"),
    "fullwidth-characters": Code(
        "数字或日期用了全角字符", "切换到半角（英文）输入法重新输入；可运行 `sunshine fix`。"
    ),
    "date-format": Code(
        "日期没有写成 YYYY-MM-DD（如 2024-5-3，只作提示）",
        "不用改；PR 检查会改成 `2024-05-03`，或运行 `sunshine fix`。",
    ),
    "number-format": Code(
        "数字写法不规范：科学计数法、正号、下划线", "只写数字，例如 `1200`；可运行 `sunshine fix`。"
    ),
    "not-a-number": Code("金额是 NaN 或无穷大", "填写实际金额；未公开金额时留空。"),
    "too-many-decimals": Code("小数位数超过表结构 x-decimals 的规定", "四舍五入到分，例如 `1200.50`。"),
    "date-order": Code("日期先后顺序不对（x-rules date-order）", "核对原始记录，改正日期。"),
    "required-with": Code(
        "填写了某列时另一列必填（x-rules required-with）",
        "补上另一列，例如有金额时在“收支方向”填“收入”或“支出”。",
    ),
    "same-parent": Code(
        "网格不属于本行的村（社区）（x-rules same-parent）", "核对网格编号和村（社区）代码是否对应。"
    ),
    "personal-id": Code(
        "单元格中含有身份证号（18 位或 15 位；含空格、点号、换行、零宽空格、全角和中文数字等写法），任何列都检查",
        "删除号码，写“当事人”即可；确需说明时写“身份证号已隐去”。",
    ),
    "personal-id-like": Code("文本中含有形似身份证号、但校验位不符的 18 位号码", "删除号码。"),
    "personal-phone": Code(
        "文本中含有手机号（电话列除外；含 +86、0086、点号、零宽空格、中文数字等写法）",
        "删除号码。网格员、村委的工作电话只填在电话那一列。",
    ),
    "personal-bank-card": Code("文本中含有银行卡号（16–19 位，Luhn 校验位相符）", "删除卡号。"),
    "personal-email": Code("文本中含有电子邮箱地址", "删除邮箱地址。"),
    "formula-injection": Code(
        "文本以 = + - @ 或制表符开头，在 Excel 中会被当作公式",
        "删除开头的符号，或在前面加上文字。",
    ),
    "reused-key": Code(
        "新记录用了一条已删除记录的编号（validate --base）",
        "换一个从未用过的编号；`sunshine next-id 表名` 给出下一个可用编号。",
    ),
    "lost-character": Code(
        "姓名中有“?”，多半是另存为 GBK 时丢失的生僻字（x-person-name）",
        "重新输入这个字，并另存为“CSV UTF-8（逗号分隔）”或 Excel 工作簿（.xlsx）。",
    ),
    "html-content": Code(
        "文本中含有 HTML 标签（包括没有闭合的标签）或 javascript:、vbscript: 链接", "只写纯文字。"
    ),
    "control-character": Code(
        "文本中含有控制字符或 NUL（含 U+0080–U+009F 的 C1 控制字符）", "删除这个单元格的内容后重新输入。"
    ),
    "bidi-control": Code(
        "文本中含有改变显示方向的控制字符（U+202A–202E、U+2066–2069、U+200E/F、U+061C）",
        "删除这个单元格的内容后重新输入，不要从网页或聊天软件中复制粘贴。",
    ),
    "invisible-character": Code(
        "文本中含有零宽空格等看不见的格式字符（编号、代码和枚举列中一律不允许）",
        "删除这个单元格的内容后重新输入，不要从网页或聊天软件中复制粘贴。",
    ),
    "unknown-start": Code(
        "sunshine.toml 的 history.start 既不是日期，也不是仓库里的提交",
        "填写一个提交（例如 git log 中的前 7 位）或日期（YYYY-MM-DD），或留空。",
    ),
    "schema-error": Code(
        "表结构文件中某个字段写错了：类型、约束或格式无法识别",
        "请数据管理员改正表结构文件；工作人员不需要修改它。",
    ),
}

CODES: dict[str, Code] = FRICTIONLESS | OWN


def markdown_table() -> str:
    """The table of codes for CONTRIBUTING.md."""
    rows = ["| 代码 | 问题 | 怎么改 |", "| --- | --- | --- |"]
    rows += [f"| `{name}` | {code.meaning} | {code.fix} |" for name, code in CODES.items()]
    return "\n".join(rows) + "\n"
