"""A small data repository with a known git history, for the diff, history and pull-request checks.

Commits (dates in UTC+8, one per step):
  1. 2024-05-01 first records: 2 villages, 2 grids, 1 staff, 2 disclosures, 2 petitions   (tag: published)
  2. 2024-05-10 a new disclosure D00000003
  3. 2024-05-20 the amount of D00000001 corrected from 1200.00 to 1500.00
  4. 2024-06-01 petition 2024-0000002 removed
  5. 2024-06-05 a typo fixed in the area of grid 330102001001-01
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VILLAGES = """village_code,name,kind,township,county,households,population,party_secretary,director,office_phone,supervision_phone,address
330102001001,青石村,村,示例镇,示例县,420,1310,王建国,李秀英,0571-86001001,0571-86001999,示例镇青石村村委会
330102001002,柳塘社区,社区,示例镇,示例县,860,2450,赵明,孙丽,0571-86001002,0571-86001998,示例镇柳塘路8号
"""

GRIDS = """grid_id,village_code,name,area,households,population
330102001001-01,330102001001,青石村第一网格,村东片一至三组,210,650
330102001002-01,330102001002,柳塘社区第一网格,柳塘路以北,430,1220
"""

GRID_STAFF = """staff_id,grid_id,name,role,party_member,work_phone,duties,since
S000001,330102001001-01,陈海,网格长,是,0571-86002001,走访农户、收集民情、调解纠纷,2022-03-01
"""

DISCLOSURES_HEADER = (
    "disclosure_id,village_code,category,topic,title,content,period,published_on,amount_yuan,direction,"
    "approval_ref,responsible\n"
)
D1 = "D00000001,330102001001,财务公开,工程项目,村道修缮工程款支付,支付村道修缮工程第一期款项。,2024-04,2024-05-01,{amount},支出,村民代表会议决议〔2024〕3号,青石村村委会\n"
D2 = "D00000002,330102001001,村务公开,年度工作计划,2024年村务工作计划,全年重点：村道修缮、垃圾分类、河塘清淤。,2024,2024-05-01,,,,青石村村委会\n"
D3 = "D00000003,330102001002,党务公开,党费收缴,2024年第一季度党费收缴情况,应缴38人，实缴38人。,2024-Q1,2024-05-10,1520.00,收入,,柳塘社区党支部\n"

PETITIONS_HEADER = (
    "case_id,village_code,grid_id,channel,request_type,category,summary,received_on,resolved_on,"
    "department,outcome,followup_on,satisfaction\n"
)
P1 = "2024-0000001,330102001001,330102001001-01,来访,求助,道路交通,村东路灯损坏，夜间出行不便。,2024-04-02,2024-04-05,青石村村委会,已更换路灯两盏。,2024-04-08,满意\n"
P2 = "2024-0000002,330102001002,330102001002-01,12345热线,投诉,环境卫生,小区垃圾清运不及时。,2024-04-10,2024-04-12,示例镇环卫所,已调整清运时间。,2024-04-15,基本满意\n"


COMMITTEE_MEMBERS_HEADER = "member_id,village_code,committee,post,name,party_member,duties,work_phone,since\n"
COMMITMENTS_HEADER = "commitment_id,member_id,promise,made_on,deadline,status,progress,updated_on\n"


def git(repo: Path, *args: str, date: str | None = None) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "青石村文书",
        "GIT_AUTHOR_EMAIL": "clerk@example.org",
        "GIT_COMMITTER_NAME": "青石村文书",
        "GIT_COMMITTER_EMAIL": "clerk@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    if date:
        env |= {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def write(repo: Path, name: str, text: str) -> None:
    (repo / "data" / name).write_text(text, encoding="utf-8")


def commit(repo: Path, message: str, date: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message, date=date)
    return git(repo, "rev-parse", "HEAD")


def make_repo(repo: Path) -> dict[str, str]:
    """Create the repository of the module docstring in `repo`; return {step name: commit hash}."""
    repo.mkdir(parents=True)
    shutil.copy(ROOT / "datapackage.json", repo / "datapackage.json")
    shutil.copytree(ROOT / "schemas", repo / "schemas")
    (repo / "data").mkdir()
    git(repo, "init", "-q", "-b", "main")
    write(repo, "villages.csv", VILLAGES)
    write(repo, "grids.csv", GRIDS)
    write(repo, "grid_staff.csv", GRID_STAFF)
    write(repo, "disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1200.00") + D2)
    write(repo, "petitions.csv", PETITIONS_HEADER + P1 + P2)
    # The committees (两委) and their commitments: tables of the contract this history has no rows for.
    write(repo, "committee_members.csv", COMMITTEE_MEMBERS_HEADER)
    write(repo, "commitments.csv", COMMITMENTS_HEADER)
    hashes = {"first": commit(repo, "Publish the first records of May", "2024-05-01T09:00:00+08:00")}
    git(repo, "tag", "published")
    write(repo, "disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1200.00") + D2 + D3)
    hashes["added"] = commit(repo, "Add the first-quarter Party dues disclosure", "2024-05-10T09:00:00+08:00")
    write(repo, "disclosures.csv", DISCLOSURES_HEADER + D1.format(amount="1500.00") + D2 + D3)
    hashes["amount"] = commit(
        repo,
        "Correct the road repair payment to 1500 yuan\n\n更正原因：按工程结算单更正金额",
        "2024-05-20T09:00:00+08:00",
    )
    write(repo, "petitions.csv", PETITIONS_HEADER + P1)
    hashes["removed"] = commit(
        repo,
        "Remove petition 2024-0000002, entered twice\n\n更正原因：同一诉求重复录入",
        "2024-06-01T09:00:00+08:00",
    )
    write(repo, "grids.csv", GRIDS.replace("村东片一至三组", "村东片一至四组"))
    hashes["typo"] = commit(repo, "Fix the area of the first grid of Qingshi", "2024-06-05T09:00:00+08:00")
    return hashes


def excel_resave(text: str) -> bytes:
    """What Excel on Chinese Windows writes when a clerk opens a CSV and saves it: GBK, CRLF,
    dates as 2024/5/1, amounts without trailing zeros, thousands separators."""
    text = re.sub(r"\b(20[0-9]{2})-0?([1-9][0-9]?)-0?([1-9][0-9]?)\b", r"\1/\2/\3", text)
    text = re.sub(r",([0-9]+)\.00,", r",\1,", text)
    text = re.sub(r",([0-9]+)([0-9]{3})\.([0-9]*[1-9])0?,", r',"\1,\2.\3",', text)
    return text.replace("\n", "\r\n").encode("gbk")
