"""Demo organisation and accounts (Chinese, invented). Idempotent: existing rows are left alone."""

from __future__ import annotations

from sqlmodel import Session

from app.accounts import service
from app.accounts.models import OrgUnitKind, Role, Tier, User, UserRole
from app.accounts.schemas import OrgUnitCreate
from app.core.security import hash_password

DEMO_PASSWORD = "shixun-demo"  # noqa: S105 (published demo password, accepted only in demo mode)

BUREAU = ("czjg", "市机关事务管理局")
DEPARTMENTS = [
    ("czjg-bgs", "办公室"),
    ("czjg-zcc", "国有资产管理处"),
    ("czjg-fcc", "房产管理处"),
    ("czjg-gwyc", "公务用车管理处"),
    ("czjg-jnc", "公共机构节能处"),
    ("czjg-cwc", "财务处"),
    ("czjg-bzh", "标准化实训基地管理办公室"),
    ("czjg-fwzx", "机关服务中心"),
    ("czjg-hyfw", "会议服务中心"),
    ("czjg-afc", "安全保卫处"),
    ("czjg-cyzx", "机关餐饮服务中心"),
]
DISTRICTS = [
    ("tn", "天宁区"),
    ("zl", "钟楼区"),
    ("xb", "新北区"),
    ("wj", "武进区"),
    ("jt", "金坛区"),
    ("ly", "溧阳市"),
]
DISTRICT_UNITS = [
    ("jgsw", "机关事务管理中心"),
    ("xzzx", "行政中心物业服务中心"),
    ("zwfw", "政务服务中心后勤保障科"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞",
         "平", "刚", "桂英", "建华", "晓燕", "志强", "海燕", "玉兰", "春梅", "文博", "子涵", "雨桐", "浩然", "欣怡", "思远"]

# username, display name, org unit code, tier, roles
NAMED_ACCOUNTS = [
    ("admin", "系统管理员", "czjg-bzh", Tier.management, [Role.admin]),
    ("district_admin", "钟楼区管理员", "zl", Tier.management, [Role.district_admin]),
    ("instructor", "陈立新（讲师）", "czjg-bzh", Tier.management, [Role.instructor]),
    ("examiner", "沈雅琴（考评员）", "czjg-bzh", Tier.management, [Role.examiner]),
    ("coordinator", "周明远（接待协调）", "czjg-bgs", Tier.management, [Role.coordinator]),
    ("trainee", "王晓燕", "czjg-hyfw", Tier.execution, [Role.trainee]),
    ("trainee2", "李建国", "zl-xzzx", Tier.execution, [Role.trainee]),
]
TRAINEE_COUNT = 64  # trainee3 … trainee66


def _units(session: Session) -> dict[str, int]:
    codes: dict[str, int] = {}

    def ensure(code: str, name: str, kind: OrgUnitKind, parent: str | None, order: int) -> None:
        unit = service.get_org_unit_by_code(session, code)
        if unit is None:
            unit = service.create_org_unit(session, None, OrgUnitCreate(
                code=code, name=name, kind=kind.value, parent_id=codes[parent] if parent else None, sort_order=order))
        codes[code] = unit.id or 0

    ensure(BUREAU[0], BUREAU[1], OrgUnitKind.bureau, None, 0)
    for i, (code, name) in enumerate(DEPARTMENTS):
        ensure(code, name, OrgUnitKind.department, BUREAU[0], i)
    for i, (code, name) in enumerate(DISTRICTS):
        ensure(code, name, OrgUnitKind.district, BUREAU[0], 100 + i)
        for j, (suffix, unit_name) in enumerate(DISTRICT_UNITS):
            ensure(f"{code}-{suffix}", f"{name}{unit_name}", OrgUnitKind.unit, code, j)
    return codes


def _trainee_specs() -> list[tuple[str, str, str, Tier]]:
    unit_codes = [c for c, _ in DEPARTMENTS if c not in ("czjg-bzh",)] + [
        f"{d}-{u}" for d, _ in DISTRICTS for u, _ in DISTRICT_UNITS]
    specs = []
    for n in range(TRAINEE_COUNT):
        name = SURNAMES[(n * 7) % len(SURNAMES)] + GIVEN[(n * 11 + 3) % len(GIVEN)]
        # Roughly 10% decision, 25% management, 65% execution, as in a real unit.
        tier = Tier.decision if n % 10 == 0 else Tier.management if n % 4 == 1 else Tier.execution
        specs.append((f"trainee{n + 3}", name, unit_codes[n % len(unit_codes)], tier))
    return specs


def seed(session: Session) -> dict[str, int]:
    codes = _units(session)
    created = 0
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for the shared demo password keeps seeding fast
    accounts = [(u, n, c, t, r) for u, n, c, t, r in NAMED_ACCOUNTS] + [
        (u, n, c, t, [Role.trainee]) for u, n, c, t in _trainee_specs()]
    for username, name, unit_code, tier, roles in accounts:
        if service.get_user_by_username(session, username) is not None:
            continue
        user = User(username=username, display_name=name, org_unit_id=codes[unit_code], tier=tier.value,
                    password_hash=password_hash, is_demo=True, must_change_password=False)
        user.role_links = [UserRole(role=r.value) for r in roles]
        session.add(user)
        created += 1
    session.flush()
    return {"org_units": len(codes), "users_created": created}
