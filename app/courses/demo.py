"""Demo curricula and courses (Chinese, written for the demo), enrolments by rule and some progress.

Idempotent: a curriculum or course whose title exists is left alone, rules are added once, and
progress is recorded only for enrolments nobody has started. Needs the accounts and standards demos
(author `instructor`, administrator `admin`). Picture-book pages use the drawings in
static/img/courses (asset ids `demo-…`, which the lesson player maps to those files), except in
视频会议保障, whose video and picture book are real media generated at seed time (demo_media.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Tier, User
from app.core.config import Environment, get_settings
from app.core.models import utcnow
from app.core.timeutil import DISPLAY_TZ
from app.courses import demo_media, learning, publishing, service, structure
from app.courses.models import Course, Curriculum, EnrolmentRule, MaterialKind
from app.courses.schemas import CourseIn, CurriculumIn, LessonIn, MaterialIn, ModuleIn, RuleIn
from app.standards import service as standards

MEETING, CANTEEN, CLEANING = ("Q/CZJG 001—2024", "Q/CZJG 001—2021"), ("DB3204/T 1012—2022",), ("Q/CZJG 005—2023",)
SECURITY, VEHICLES, ENERGY = ("Q/CZJG 007—2023",), ("Q/CZJG 011—2022",), ("DB3204/T 1020—2023",)
WEEKDAYS = [1, 2, 3, 4, 5]
REAL_MEDIA_COURSE = "视频会议保障"  # its video and picture book are real media (demo_media.py) when ffmpeg is there


def T(title: str, html: str, *cites: tuple[tuple[str, ...], str], required: bool = True) -> dict[str, Any]:  # noqa: N802
    return {"kind": "text", "title": title, "required": required, "html": html, "cites": list(cites)}


def V(title: str, asset: str, minutes: int, *, required: bool = True) -> dict[str, Any]:  # noqa: N802
    return {"kind": "video", "title": title, "required": required, "config": {"asset_id": asset, "duration_s": minutes * 60}}


def B(title: str, *pages: tuple[str, str], required: bool = True) -> dict[str, Any]:  # noqa: N802
    return {"kind": "picture_book", "title": title, "required": required,
            "config": {"pages": [{"image": image, "caption": caption} for image, caption in pages]}}


def S(title: str, name: str, location: str, equipment: list[str], opens: str = "08:30", closes: str = "17:00",  # noqa: N802
      notes: str = "", *, required: bool = True) -> dict[str, Any]:
    return {"kind": "scene", "title": title, "required": required, "config": {
        "name": name, "location": location, "equipment": equipment, "notes": notes,
        "opening_hours": [{"weekdays": WEEKDAYS, "opens": opens, "closes": closes}]}}


def A(title: str, checklist: str, instructions: str, *, required: bool = True) -> dict[str, Any]:  # noqa: N802
    return {"kind": "visual_assessment", "title": title, "required": required,
            "config": {"checklist_id": checklist, "instructions": instructions}}


@dataclass
class CourseSpec:
    title: str
    summary: str
    hours: str
    modules: list[tuple[str, list[tuple[str, list[dict[str, Any]]]]]]
    required: bool = True
    after: str | None = None  # title of the prerequisite course
    units: list[str] = field(default_factory=lambda: ["czjg"])  # rule subtrees (org unit codes)
    due_days: int | None = 90


def _p(*paras: str) -> str:
    return "".join(f"<p>{p}</p>" for p in paras)


def _ul(*items: str) -> str:
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


MEETING_ROOM = S("实训场景：标准会议室", "标准会议室实训区", "实训基地二楼 203 室",
                 ["椭圆会议桌（20 座）", "桌签与座次牌", "茶具与保温壶", "无线话筒 6 支", "投影与视频会议终端"],
                 notes="进入实训区请换工作鞋，实训结束后按会后整理要求复位。")

EXECUTION: list[CourseSpec] = [
    CourseSpec("会议服务基础", "从会场布置到会后整理，掌握机关会议服务的基本功。", "2", [
        ("会前准备", [
            ("桌签摆放与座次", [
                T("桌签摆放要点", _p("会议服务的第一印象来自会场。桌签是与会人员找到座位的依据，也体现会务工作的细致程度。")
                  + "<h3>三个要点</h3>" + _ul("<strong>按座次表</strong>：以会务负责人确认的座次表为准，不凭经验摆放。",
                                                "<strong>双面居中</strong>：桌签双面打印，居中摆放，字面朝向入口。",
                                                "<strong>横竖成线</strong>：摆放后沿桌边目测，保证间距一致、成线。"),
                  (MEETING, "5.1.1")),
                B("图解：桌签怎么摆", ("demo-meeting-1", "第一步：对照座次表，桌签居中，字面朝向入口。"),
                  ("demo-meeting-2", "第二步：茶杯放在桌签右前方，杯柄朝右。"),
                  ("demo-meeting-3", "第三步：检查话筒和屏幕，确认每个座位都能看清、听清。")),
            ]),
            ("茶水准备", [
                T("茶水准备规范", _p("茶杯要提前清洗消毒并保洁存放，茶叶按人数定量放置。开水温度过高会烫伤，过低则泡不开茶叶。")
                  + "<blockquote>水温宜控制在 85℃ 至 95℃。</blockquote>", (MEETING, "5.1.2")),
                V("示范：一次规范的续水", "demo-video-meeting-tea", 6),
            ]),
        ]),
        ("会中与会后", [
            ("会中服务与应急", [
                T("续水与应急处置", _p("续水时从与会人员右侧进行，动作轻，不打扰发言人。",
                                         "设备出现故障时，先启用备用设备，再报告会务负责人。"),
                  (MEETING, "6.1"), (MEETING, "6.3")),
                MEETING_ROOM,
            ]),
            ("会后整理", [
                T("会后整理清单", _ul("检查会场，收回桌签、未用材料和遗留物品。", "关闭设备电源、灯光和空调。",
                                      "填写会场使用记录，交接给下一场会议。"), (MEETING, "7.1"), (MEETING, "7.2")),
                A("实操考核：会场复位", "checklist-meeting-reset", "在标准会议室完成一次会后整理，考评员按检查表逐项评分。"),
            ]),
        ]),
    ]),
    CourseSpec("视频会议保障", "视频会议的联调、备份和现场保障。", "1.5", [
        ("联调与备份", [
            ("会前联调", [
                T("联调时间与内容", _p("视频会议应在会前 60 分钟与主会场完成联调，依次检查图像、声音、字幕和双流。"), (MEETING, "5.3.1")),
                V("演示：视频终端联调", "demo-video-vc-test", 8),
            ]),
            ("备用线路与终端", [
                T("为什么要准备备份", _p("一条线路中断，整场会议就会中断。备用线路和备用终端要在联调时一并测试。"), (MEETING, "5.3.2")),
                B("图解：主备切换", ("demo-meeting-3", "主线路中断时，立即切换到备用终端，并报告主会场。")),
            ]),
        ]),
        ("保密", [
            ("会议保密要求", [
                T("保密纪律", _p("服务人员不得记录、传播会议内容，不得将会议材料带离会场。视频会议结束后，及时退出会议并清除终端记录。"),
                  (MEETING, "4.2")),
            ]),
        ]),
    ], after="会议服务基础"),
    CourseSpec("会议服务综合实训", "在实训基地完成一场完整会议的全流程服务。", "2", [
        ("综合实训", [
            ("实训场地", [MEETING_ROOM]),
            ("全流程考核", [A("综合考核：一场会议的全流程服务", "checklist-meeting-full",
                              "从会前准备到会后整理，由两名考评员按检查表评分，80 分合格。")]),
        ]),
    ], required=False, after="视频会议保障", units=["czjg-hyfw", "zl", "tn"]),
    CourseSpec("机关食堂食品安全", "采购验收、生熟分开、留样，守住食品安全底线。", "2", [
        ("源头把关", [
            ("采购与验收", [
                T("验收的四看", _ul("看资质：供应商资质和检验合格证明。", "看感官：色泽、气味、质地是否正常。",
                                    "看温度：冷链食品的到货温度。", "看日期：保质期和生产日期。"),
                  (CANTEEN, "4.2.1"), (CANTEEN, "4.2.2")),
                V("示范：食品原料验收", "demo-video-canteen-check", 7),
            ]),
        ]),
        ("加工制作", [
            ("生熟分开", [
                T("生熟分开的要求", _p("生、熟食品的加工工具、容器和存放区域要分开，并有明显标识。"), (CANTEEN, "5.1")),
                B("图解：生熟分开", ("demo-canteen-1", "红色标识用于生食，绿色标识用于熟食，刀具砧板不混用。"),
                  ("demo-canteen-2", "每餐次每个品种留样不少于 125 克，冷藏保存 48 小时。")),
            ]),
            ("留样", [T("留样操作", _p("留样由专人负责，记录品名、时间和留样人。"), (CANTEEN, "5.3"))]),
        ]),
    ]),
    CourseSpec("就餐服务与光盘行动", "开餐准备、菜品标识和节约用餐。", "1", [
        ("就餐服务", [
            ("开餐准备", [T("开餐前30分钟", _p("开餐前 30 分钟完成餐厅清洁和餐具消毒，菜品标注名称和主要过敏原。"),
                            (CANTEEN, "6.1"), (CANTEEN, "6.2"))]),
            ("光盘行动", [
                T("节约用餐", _p("设置剩餐称重和节约提示，每月公布剩餐数据。"), (CANTEEN, "6.3")),
                S("实训场景：机关食堂", "机关食堂实训区", "实训基地一楼东侧", ["自助餐台", "剩餐称重台", "餐具消毒柜"],
                  "10:30", "13:30", "开餐时间内实训需听从食堂值班长安排。"),
            ]),
        ]),
    ], required=False),
    CourseSpec("办公楼保洁基础", "公共区域、办公室和卫生间的日常保洁。", "2", [
        ("公共区域", [
            ("大厅与走廊", [
                T("地面与玻璃门", _p("大厅和走廊地面每日湿拖不少于两次，玻璃门每日擦拭，作业时设置警示标识。"),
                  (CLEANING, "5.1.1"), (CLEANING, "5.1.2"), (CLEANING, "4.2")),
                B("图解：湿拖作业", ("demo-clean-1", "先放警示牌，再分区湿拖，地面干后收回警示牌。"),
                  ("demo-clean-2", "玻璃自上而下擦拭，不留水痕和手印。")),
            ]),
            ("办公室保洁", [T("进入办公室的规矩", _p("按约定时间进入办公室，不翻动文件；涉密废纸交专人处理。"),
                              (CLEANING, "6.1"), (CLEANING, "6.2"))]),
        ]),
        ("卫生间与茶水间", [
            ("巡回保洁", [
                T("巡回保洁与异味控制", _p("卫生间实行巡回保洁，发现问题即时处理。"), (CLEANING, "7.1"), (CLEANING, "7.2")),
                V("示范：卫生间巡回保洁", "demo-video-cleaning-round", 5, required=False),
            ]),
            ("实操考核", [A("实操考核：茶水间保洁", "checklist-pantry", "按检查表完成茶水间台面、水槽和开水器的清洁。")]),
        ]),
    ]),
    CourseSpec("门岗值守与巡逻", "来访登记、车辆出入和巡逻检查。", "2", [
        ("门岗值守", [
            ("来访登记", [
                T("来访人员登记", _p("来访人员应登记身份信息，经被访部门确认后方可进入。对可疑物品礼貌询问，按规定处置。"),
                  (SECURITY, "5.1.1"), (SECURITY, "5.1.2")),
                B("图解：门岗接待", ("demo-security-1", "起立、敬礼、询问来意，登记后联系被访部门。")),
            ]),
            ("车辆出入", [T("车辆出入管理", _p("外来车辆登记车牌和事由，按指定区域停放。"), (SECURITY, "5.2"))]),
        ]),
        ("巡逻与应急", [
            ("巡逻检查", [
                T("巡逻频次与重点", _p("日间每 2 小时、夜间每 1 小时巡逻一次，重点检查门窗、消防通道和重点部位。"),
                  (SECURITY, "6.1"), (SECURITY, "6.2")),
                S("实训场景：监控与消防控制室", "安防实训室", "实训基地一楼 108 室", ["监控大屏", "对讲机", "灭火器与消防栓",
                                                                                   "巡更棒"], "08:30", "20:00"),
            ]),
        ]),
    ]),
    CourseSpec("公务用车日常维护", "出车前检查、定期保养和费用登记。", "1", [
        ("车辆维护", [
            ("出车前检查", [
                T("一看二听三检查", _ul("看轮胎、灯光和油量。", "听发动机声音是否正常。", "检查刹车、安全带和随车工具。"),
                  (VEHICLES, "7.2")),
                B("图解：绕车一周", ("demo-vehicle-1", "出车前绕车一周，检查轮胎和灯光。")),
            ]),
            ("费用登记", [T("单车核算", _p("燃油、维修、保险等费用实行单车核算，每季度公开。"), (VEHICLES, "8.1"), (VEHICLES, "8.2"))]),
        ]),
    ], required=False, units=["czjg-gwyc", "zl"]),
    CourseSpec("节能从身边做起", "空调、照明和办公设备的节能习惯。", "1", due_days=20, modules=[
        ("身边的节能", [
            ("空调与照明", [
                T("空调温度怎么设", _p("夏季室内空调温度不低于 26℃，冬季不高于 20℃，下班前 30 分钟关闭空调。"),
                  (ENERGY, "6.1.1"), (ENERGY, "6.1.2")),
                B("图解：随手节能", ("demo-energy-1", "人走灯灭，空调按规定温度设置。")),
            ]),
            ("办公设备", [T("待机也耗电", _p("下班关闭电脑、打印机等设备电源，减少待机能耗。"), (ENERGY, "6.3")),
                          V("动画：一天的用电", "demo-video-energy-day", 4, required=False)]),
        ]),
    ]),
]

MANAGEMENT: list[CourseSpec] = [
    CourseSpec("后勤服务标准化管理", "把标准用在日常管理中：检查、评价和持续改进。", "3", [
        ("标准的实施", [
            ("服务评价", [T("用数据说话", _p("每次会议后收集意见，每季度统计满意度并提出改进措施。"), (MEETING, "8.1"), (MEETING, "8.2"))]),
            ("检查考核", [T("检查评分表", _p("保洁主管每日巡查，每月按检查评分表考核。"), (CLEANING, "9.1"), (CLEANING, "9.2")),
                          V("案例：一次月度考核", "demo-video-mgmt-review", 12)]),
        ]),
        ("持续改进", [
            ("自查与整改", [T("食品安全自查", _p("每月开展一次食品安全自查，问题清单闭环整改。"), (CANTEEN, "7.1")),
                            S("实训场景：标准化展示厅", "标准化成果展示厅", "实训基地三楼", ["标准体系展板", "触摸查询屏"])]),
        ]),
    ]),
    CourseSpec("能耗统计与节能管理", "计量、报送和节能目标管理。", "2", [
        ("计量与统计", [
            ("分户分类计量", [T("计量要求", _p("水、电、气分户分类计量，重点用能部位单独计量。"), (ENERGY, "5.1.1"), (ENERGY, "5.1.2"))]),
            ("目标与考核", [T("年度节能目标", _p("制定年度节能目标和实施方案，完成情况纳入年度考核。"), (ENERGY, "4.2"), (ENERGY, "8.2")),
                            A("案例研判：节能改造方案", "checklist-energy-plan", "分组研讨一份节能改造方案，按评议表打分。")]),
        ]),
    ]),
]

DECISION: list[CourseSpec] = [
    CourseSpec("机关事务标准化建设概论", "标准化为什么能提升机关事务治理水平。", "2", [
        ("概论", [
            ("标准体系", [T("机关事务标准体系", _p("机关事务标准覆盖会议、餐饮、保洁、安保、公务用车、节能等服务，",
                                                   "形成通用基础、服务提供和管理保障三个层次。")),
                          V("专题讲座：标准化与治理", "demo-video-decision-talk", 30)]),
            ("实训基地", [S("参观：标准化实训基地", "标准化实训基地", "实训基地一至三楼",
                           ["标准会议室", "食堂实训区", "安防实训室", "标准化展示厅"], notes="可预约讲解员。")]),
        ]),
    ]),
    CourseSpec("公务用车管理与监督", "用车申请、派车和费用公开的制度设计。", "1.5", [
        ("制度与监督", [
            ("申请与派车", [T("用车申请流程", _p("用车单位通过平台提前申请，紧急公务事后 24 小时内补办。"),
                              (VEHICLES, "5.1.1"), (VEHICLES, "5.1.2"))]),
            ("费用公开", [T("费用公开", _p("单车核算、季度公开，是监督公务用车的有效办法。"), (VEHICLES, "8.2"))]),
        ]),
    ], required=False),
]

CURRICULA = [
    ("决策层课程体系", Tier.decision, "面向局领导和各区分管领导：标准化战略与制度设计。", DECISION),
    ("管理层课程体系", Tier.management, "面向处室和中心负责人：标准实施、检查与改进。", MANAGEMENT),
    ("执行层课程体系", Tier.execution, "面向一线服务人员：会议、餐饮、保洁、安保、用车和节能的操作规范。", EXECUTION),
]


def _clause_id(session: Session, owner: User, codes: tuple[str, ...], number: str) -> int | None:
    for code in codes:
        standard = standards.get_standard_by_code(session, code)
        version = standards.current_version(session, standard.id or 0) if standard else None
        if version is not None:
            found = [c.id for c in standards.clauses_of(session, version) if c.number == number]
            return found[0] if found else None
    return None


def _material(session: Session, owner: User, spec: dict[str, Any], real: dict[str, dict[str, Any]] | None = None) -> MaterialIn:
    config = {**spec.get("config", {}), **(real or {}).get(spec["title"], {})}  # real media by title (demo_media.py)
    if spec["kind"] == MaterialKind.text.value:
        ids = [i for codes, number in spec["cites"] if (i := _clause_id(session, owner, codes, number)) is not None]
        config = {"html": spec["html"], "clause_ids": list(dict.fromkeys(ids))}
    return MaterialIn(kind=spec["kind"], title=spec["title"], is_required=spec["required"], config=config)


def _build(session: Session, owner: User, curriculum: Curriculum, spec: CourseSpec, order: int,
           real: dict[str, dict[str, Any]] | None = None) -> Course:
    course = service.create_course(session, owner, curriculum, CourseIn(title=spec.title, summary=spec.summary,
                                                                         hours=Decimal(spec.hours), is_required=spec.required,
                                                                         sort_order=order))
    for module_title, lessons in spec.modules:
        module = structure.add_module(session, owner, course, ModuleIn(title=module_title))
        for lesson_title, mats in lessons:
            lesson = structure.add_lesson(session, owner, module.id or 0, LessonIn(title=lesson_title))
            for mat in mats:
                structure.add_material(session, owner, lesson.id or 0, _material(session, owner, mat, real))
    publishing.publish_course(session, owner, course, note="首次发布")
    return course


def _missing(session: Session, course_title: str) -> bool:
    return session.exec(select(Course).where(Course.title == course_title)).first() is None


def _user(session: Session, username: str) -> User:
    user = accounts.get_user_by_username(session, username)
    if user is None:
        raise RuntimeError("seed the accounts demo first")
    return user


def _finish_lessons(session: Session, user: User, course: Course, lessons: int | None, now: datetime) -> None:
    """Work through the first `lessons` lessons (all when None) as the trainee would."""
    version = publishing.latest_version(session, course.id or 0)
    assert version is not None
    learning.start(session, user, course.id or 0, now=now)
    all_lessons = [lesson for module in version.snapshot["modules"] for lesson in module["lessons"]]
    for lesson in all_lessons[:lessons]:
        for m in lesson["materials"]:
            if m["kind"] == MaterialKind.picture_book.value:
                for page in range(len(m["config"]["pages"])):
                    learning.page_seen(session, user, course.id or 0, m["id"], page, now=now)
            elif m["kind"] in learning.SELF_COMPLETED:
                learning.mark_read(session, user, course.id or 0, m["id"], now=now)
            else:
                learning.complete_material(session, user, course.id or 0, m["id"], now=now)


def seed(session: Session, *, now: datetime | None = None, media: bool | None = None) -> dict[str, int]:
    """`media`: make the real demo media (demo_media.py); by default everywhere but in the test suite,
    whose in-process seeds would leave generated files in the shared test media folder."""
    now = now or utcnow()
    owner, admin = _user(session, "instructor"), _user(session, "admin")
    created, by_title = 0, dict[str, Course]()
    # Real media only for a course still to be built (published versions are never rewritten).
    settings = get_settings()
    wanted = media if media is not None else (settings.demo_media and settings.env != Environment.test)
    real = demo_media.ensure(session, owner).configs if wanted and _missing(session, REAL_MEDIA_COURSE) else {}
    for order, (title, tier, description, specs) in enumerate(CURRICULA):
        curriculum = session.exec(select(Curriculum).where(Curriculum.title == title)).first()
        if curriculum is None:
            curriculum = service.create_curriculum(session, admin, CurriculumIn(title=title, tier=tier, description=description,
                                                                                sort_order=order))
        for position, spec in enumerate(specs):
            course = session.exec(select(Course).where(Course.curriculum_id == curriculum.id, Course.title == spec.title)).first()
            if course is None:
                course = _build(session, owner, curriculum, spec, position, real)
                created += 1
                if spec.after:
                    service.set_prerequisites(session, owner, course, [by_title[spec.after].id or 0])
                for code in spec.units:
                    unit = accounts.get_org_unit_by_code(session, code)
                    if unit is not None:
                        learning.add_rule(session, admin, course, RuleIn(tier=tier, org_unit_id=unit.id,
                                                                         due_days=spec.due_days if spec.required else None))
            by_title[spec.title] = course
    enrolled = learning.apply_rules(session, now=now - timedelta(days=30))
    trainee, trainee2 = _user(session, "trainee"), _user(session, "trainee2")
    for user, title, lessons, days_ago in [(trainee, "会议服务基础", None, 6), (trainee, "视频会议保障", 1, 2),
                                           (trainee2, "办公楼保洁基础", 2, 3), (trainee2, "节能从身边做起", 1, 1)]:
        enrolment = learning.enrolment_of(session, user.id or 0, by_title[title].id or 0)
        if enrolment is not None and enrolment.started_at is None:
            _finish_lessons(session, user, by_title[title], lessons, max(now - timedelta(days=days_ago), _year_start(now)))
    session.flush()
    rules = len(session.exec(select(EnrolmentRule)).all())
    return {"courses_created": created, "courses": sum(len(c[3]) for c in CURRICULA), "enrolments_created": enrolled,
            "enrolment_rules": rules}


def _year_start(now: datetime) -> datetime:
    """Progress of the demo lands in the current Shanghai year, so hours show on the home page."""
    local = now.astimezone(DISPLAY_TZ)
    return local.replace(month=1, day=1, hour=9, minute=0, second=0, microsecond=0)
