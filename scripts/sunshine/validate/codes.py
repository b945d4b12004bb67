"""Every problem code `sunshine validate` reports, with what it means (for documentation and tools).

Codes that Frictionless also knows keep Frictionless's name and meaning.
"""

from __future__ import annotations

FRICTIONLESS = {
    "encoding-error": "文件不是 UTF-8 编码（指出实际编码，或第一处无法识别的行）",
    "incorrect-label": "表头某一列的名称不对（提示最接近的列名）",
    "missing-label": "表头缺少某一列",
    "extra-label": "表头多出表结构中没有的列，或某一列的表头是空的",
    "duplicate-label": "表头某一列与前面的列重名",
    "missing-cell": "某一行的单元格比表头少",
    "extra-cell": "某一行的单元格比表头多",
    "blank-row": "空行",
    "type-error": "单元格不是这一列的类型（日期、整数、数字、是/否）",
    "constraint-error": "单元格不满足约束：必填、格式、取值范围、长度、最小值",
    "unique-error": "应当唯一的列出现了重复值",
    "primary-key": "主键为空或重复",
    "foreign-key": "引用的编号在另一张表中不存在",
    "source-error": "文件无法按 CSV 读取",
}

OWN = {
    "descriptor-error": "datapackage.json 或表结构文件缺失、不是有效的 JSON",
    "missing-file": "数据包中的表文件不存在",
    "empty-file": "文件是空的，没有表头",
    "unsafe-path": "文件或 data/ 目录是符号链接，或位于 data/ 之外",
    "file-too-large": "文件超过大小上限（默认 50 MB）",
    "unknown-file": "data/ 中有不属于数据包的文件",
    "encoding": "文件是 GBK/GB18030 编码，已按此编码读取（提示）",
    "header-title": "表头用了列的中文名称，已按对应的英文列名读取（提示）",
    "backup-file": "sunshine fix 留下的 .orig.csv 备份（提醒）",
    "error-limit": "同类问题太多，只列出前 100 个（提醒）",
    "fullwidth-separator": "用中文逗号“，”分隔了各列",
    "unclosed-quote": "英文双引号没有配对，后面几行被读进了同一个单元格",
    "whitespace": "单元格前后有空格或全角空格",
    "fullwidth-characters": "数字或日期用了全角字符",
    "date-format": "日期没有写成 YYYY-MM-DD（如 2024-5-3）",
    "number-format": "数字写法不规范：科学计数法、正号、下划线",
    "not-a-number": "金额是 NaN 或无穷大",
    "too-many-decimals": "小数位数超过表结构 x-decimals 的规定",
    "date-order": "日期先后顺序不对（x-rules date-order）",
    "required-with": "填写了某列时另一列必填（x-rules required-with）",
    "same-parent": "网格不属于本行的村（社区）（x-rules same-parent）",
    "personal-id": "文本中含有身份证号（18 位或 15 位）",
    "personal-id-like": "文本中含有形似身份证号、但校验位不符的 18 位号码",
    "personal-phone": "文本中含有手机号（电话列除外）",
    "formula-injection": "文本以 = + - @ 或制表符开头，在 Excel 中会被当作公式",
    "html-content": "文本中含有 HTML 标签或 javascript: 链接",
    "lost-character": "姓名中有“?”，多半是另存为 GBK 时丢失的生僻字（x-person-name）",
    "workbook": "data/ 中的 Excel 工作簿，按其内容校验、由 sunshine fix 转换为 CSV（提示）",
    "control-character": "文本中含有控制字符或 NUL",
}

CODES = FRICTIONLESS | OWN
