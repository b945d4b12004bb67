"""Write the broken-file corpus from the fixture package: each case is one table with one deliberate fault.

Run from the repository root: python tests/broken/make_corpus.py
The expected problems of each case are written by hand in tests/broken/cases.json.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE.parent / "fixture" / "data"
ID = "110105198001011238"  # fictional, valid GB 11643 check digit
ID_BAD = "110105198001011239"


def lines(table: str) -> list[str]:
    return (FIXTURE / f"{table}.csv").read_text(encoding="utf-8").splitlines()


def write(table: str, case: str, text: str | bytes, *, newline: str = "\n") -> None:
    out = HERE / table / f"{case}.csv"
    out.parent.mkdir(exist_ok=True)
    if isinstance(text, bytes):
        out.write_bytes(text)
    else:
        out.write_bytes(text.replace("\n", newline).encode("utf-8"))


def edit(table: str, case: str, line: int, old: str, new: str) -> None:
    """Replace old by new on one line (1 = header) of the fixture table."""
    rows = (FIXTURE / f"{table}.csv").read_text(encoding="utf-8").split("\n")
    assert old in rows[line - 1], (table, case, line, old)
    rows[line - 1] = rows[line - 1].replace(old, new, 1)
    write(table, case, "\n".join(rows))


def columns(table: str, case: str, fn) -> None:
    """Rewrite every line as cells (for the tables without quoted cells)."""
    rows = [r.split(",") for r in lines(table)]
    write(table, case, "\n".join(",".join(fn(r)) for r in rows) + "\n")


def main() -> None:
    fixture = {t: (FIXTURE / f"{t}.csv").read_text(encoding="utf-8") for t in ("villages", "grids", "petitions")}
    p = "petitions"
    # Accepted: what Excel and editors legitimately write
    write(p, "ok-bom", "\ufeff" + fixture[p])
    write(p, "ok-crlf", fixture[p], newline="\r\n")
    edit(p, "ok-multiline-cell", 3, "调整清运频次为每日一次。", '"调整清运频次为每日一次。\n同时增设一处收集点。"')
    # Structure
    columns(p, "missing-last-column", lambda r: r[:-1])
    columns(p, "extra-column", lambda r: [*r, "remark" if r[0] == "case_id" else ""])
    columns(p, "reordered-columns", lambda r: [*r[:7], r[8], r[7], *r[9:]])
    edit(p, "short-row", 3, ",2024-05-15,基本满意", "")
    edit(p, "unquoted-comma", 2, "村口路灯不亮，夜间", "村口路灯不亮,夜间")
    write(p, "blank-rows", fixture[p].replace("\n2024-0000003", "\n\n2024-0000003") + ",,,,,,,,,,,,\n")
    edit(p, "fullwidth-separator", 4, lines(p)[3], lines(p)[3].replace(",", "，"))
    g = "grids"
    edit(g, "header-typo", 1, "village_code", "vilage_code")
    edit(g, "chinese-header", 1, lines(g)[0], "网格编号,所属村（社区）代码,网格名称,网格范围,户数,人口")
    edit(g, "blank-label", 1, ",area,", ",,")
    edit(g, "duplicate-label", 1, ",name,", ",village_code,")
    write(g, "blank-line-before-header", "\n" + fixture[g])
    rows = fixture[p].split("\n")
    rows[2] = rows[2].replace("调整清运频次为每日一次。", '"调整清运频次\n为每日一次。"')
    rows[3] = rows[3] + "\n"
    rows[4] = rows[4].replace(",2024-06-10,", ",2024/6/10,")
    write(p, "numbering-after-multiline-and-blank", "\n".join(rows))
    write(g, "blank-line-before-header-and-error", "\n" + fixture[g].replace(",138,", ",约138,"))
    edit(p, "unclosed-quote", 4, ",咨询城乡居民", ',"咨询城乡居民')
    rows = fixture[p].split("\n")
    rows[3] = rows[3].replace(",12345热线,", ",热线电话,").replace(",咨询城乡居民", ',"咨询城乡居民')
    write(p, "unclosed-quote-after-a-wrong-cell", "\n".join(rows))
    rows = fixture[p].split("\n")
    rows[3] = (
        rows[3]
        .replace(",咨询城乡居民养老保险缴费档次。,", ',"甲,乙,丙",')
        .replace(",2024-06-01,2024-06-01,社区服务中心,", ',2024-13-45,2024-06-01,"社区服务中心,')
    )
    write(p, "unclosed-quote-after-a-quoted-cell-with-commas", "\n".join(rows))
    edit(p, "unclosed-quote-in-the-next-to-last-column", 6, ",2024-07-25,不满意", ',"2024-07-25,不满意')
    edit(g, "unclosed-quote-in-the-last-column", 3, ",274,924", ',274,"924')
    write(p, "lone-cr-line-ends", fixture[p], newline="\r")
    # Cells: Frictionless types and constraints
    edit(p, "enum", 2, ",来电,", ",电话,")
    edit(p, "required-empty", 3, ",乡镇综治中心,", ",,")
    edit(p, "pattern", 4, "2024-0000003", "2024-003")
    edit(p, "duplicate-id", 3, "2024-0000002", "2024-0000001")
    edit(p, "empty-id", 4, "2024-0000003", "")
    edit(p, "foreign-key-village", 5, "2024-0000004,000000101002", "2024-0000004,000000101009")
    edit(p, "foreign-key-grid", 6, ",000000101001-01,", ",000000101001-09,")
    edit(p, "same-parent", 6, ",000000101001-01,", ",000000101002-01,")
    edit(p, "date-order", 3, "2024-05-07,2024-05-09", "2024-05-07,2024-05-01")
    edit(p, "followup-before-resolved", 5, ",2024-07-01,", ",2024-06-20,")
    edit(p, "date-slashes", 2, ",2024-05-03,", ",2024/5/3,")
    edit(p, "date-chinese", 2, ",2024-05-03,", ",2024年5月3日,")
    edit(p, "date-excel-serial", 2, ",2024-05-03,", ",45415,")
    edit(p, "date-ambiguous", 2, ",2024-05-03,", ",03/05/2024,")
    edit(p, "date-unpadded", 2, ",2024-05-03,", ",2024-5-3,")
    edit(p, "date-fullwidth", 2, ",2024-05-03,", ",２０２４-０５-０３,")
    edit(p, "date-impossible", 2, ",2024-05-06,", ",2024-02-30,")
    d = "disclosures"
    edit(d, "amount-currency", 2, ",12800.50,", ',"¥12,800.50",')
    edit(d, "amount-nan", 2, ",12800.50,", ",NaN,")
    edit(d, "amount-snan", 2, ",12800.50,", ",sNaN,")
    edit(d, "amount-infinity", 2, ",12800.50,", ",Infinity,")
    edit(d, "amount-exponent", 2, ",12800.50,", ",1.28e4,")
    edit(d, "amount-decimals", 2, ",12800.50,", ",12800.505,")
    edit(d, "amount-negative", 2, ",12800.50,", ",-12800.50,")
    edit(d, "amount-fullwidth", 2, ",12800.50,", ",１２８００.５０,")
    edit(d, "required-with", 2, ",收入,", ",,")
    edit(d, "period-pattern", 2, ",2024-Q1,", ",2024Q1,")
    edit(d, "title-too-long", 3, "2024年低保对象审核结果", "关于" + "低保对象审核结果" * 13)
    edit(d, "formula", 3, ",2024年低保对象审核结果,", ',"=HYPERLINK(""http://example.com"",""详情"")",')
    edit(d, "html", 3, "名单已在村务公开栏张贴。", "名单见<a href='javascript:alert(1)'>附件</a>。")
    edit(d, "control-character", 3, "名单已在", "名单\x07已在")
    edit(g, "integer-text", 2, ",138,", ",约138,")
    edit(g, "integer-thousands", 4, ",1890", ',"1,890"')
    edit(g, "integer-fullwidth", 2, ",138,", ",１３８,")
    edit(g, "surrounding-spaces", 2, ",第一网格,", ",第一网格 ,")
    edit(g, "code-with-spaces", 3, "-02,000000101001,", "-02,\u3000000000101001,")
    s = "grid_staff"
    edit(s, "boolean", 2, ",是,", ",Y,")
    edit(s, "phone-pattern", 3, ",13900000001,", ",139 0000 0001,")
    edit(s, "id-in-phone-column", 3, ",13900000001,", f",{ID},")
    # Personal data in text
    edit(p, "personal-id", 3, "垃圾收集点", f"居民（身份证号{ID}）反映垃圾收集点")
    edit(p, "personal-id-spaces", 4, "电话告知", f"电话告知（身份证 {ID[:6]} {ID[6:14]} {ID[14:]}）")
    edit(p, "personal-id-fullwidth", 4, "电话告知", "电话告知" + ID.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}))
    edit(p, "personal-id-bad-checksum", 3, "垃圾收集点", f"证件号{ID_BAD}反映垃圾收集点")
    edit(p, "personal-id-old", 3, "垃圾收集点", "证件号110105800101123反映垃圾收集点")
    edit(p, "personal-mobile", 5, "建议在社区广场", "居民（电话 138-1234-5678）建议在社区广场")
    # Personal data in disguise: prefixes, separators, widths, Chinese numerals, checksums
    zwsp, nbsp = "\u200b", "\u00a0"
    edit(p, "personal-mobile-plus86", 5, "建议在社区广场", "居民（+8613912345601）建议在社区广场")
    edit(p, "personal-mobile-0086", 5, "建议在社区广场", "居民（0086 139 1234 5602）建议在社区广场")
    edit(p, "personal-mobile-dots", 5, "建议在社区广场", "居民（139.1234.5603）建议在社区广场")
    edit(p, "personal-mobile-no-break-spaces", 5, "建议在社区广场", f"居民（139{nbsp}1234{nbsp}5604）建议在社区广场")
    edit(p, "personal-mobile-zero-width", 5, "建议在社区广场", f"居民（139{zwsp}1234{zwsp}5605）建议在社区广场")
    edit(p, "personal-mobile-chinese-numerals", 5, "建议在社区广场", "居民（一三九一二三四五六〇六）建议在社区广场")
    edit(p, "personal-id-dots", 3, "垃圾收集点", f"证件{ID[:6]}.{ID[6:14]}.{ID[14:]}反映垃圾收集点")
    edit(p, "personal-id-zero-width", 3, "垃圾收集点", f"证件{ID[:6]}{zwsp}{ID[6:]}反映垃圾收集点")
    edit(p, "personal-id-line-break", 3, "垃圾收集点清运不及时。", f'"证件{ID[:10]}\n{ID[10:]}反映垃圾收集点清运不及时。"')
    edit(p, "personal-id-in-date-column", 3, ",2024-05-07,", f",{ID},")
    edit(p, "personal-bank-card", 3, "垃圾收集点", "补贴打入卡号6222 0212 3456 7890 128，垃圾收集点")
    edit(p, "personal-email", 3, "垃圾收集点", "联系人邮箱 zhang.san@example.com，垃圾收集点")
    edit(p, "ok-ordinary-numbers", 3, "垃圾收集点", "合同 DQ-2024-017 支付 138000000.00 元，2024-05-03 2024-05-06 两次清运，卡号尾号 0128，垃圾收集点")
    edit(d, "amount-id", 2, ",12800.50,", f",{ID},")
    edit(g, "population-id", 2, ",462", f",{ID}")
    edit(g, "households-mobile", 3, ",274,", ",13912345607,")
    # Text that shows other than it is
    edit(d, "bidi-control", 3, "名单已在", "名单\u202e已在")
    edit(d, "c1-control", 3, "名单已在", "名单\u0085已在")
    edit(d, "invisible-in-key", 3, "D00000002", f"D0000000{zwsp}2")
    edit(p, "invisible-in-text", 3, "垃圾收集点", f"垃圾{zwsp}收集点")
    edit(d, "html-unclosed", 3, "名单已在村务公开栏张贴。", "名单见<img src=x onerror=alert(1)")
    # Encodings
    v = "villages"
    write(v, "gbk", fixture[v].encode("gbk"))
    write(v, "utf16", fixture[v].encode("utf-16"))
    rows = fixture[g].split("\n")
    write(g, "mixed-encoding", ("\n".join(rows[:3]) + "\n").encode() + ("\n".join(rows[3:])).encode("gbk"))
    # Keys of a referenced table: a village code repeated
    edit(v, "duplicate-village", 3, "000000101002,东桥社区", "000000101001,东桥社区")


if __name__ == "__main__":
    main()
