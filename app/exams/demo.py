"""Demo question banks (written for the demo, after the demo standards in app/standards/demo.py): three
banks owned by `instructor` with questions of all eight types on meeting service, security, canteen,
cleaning, facilities and energy, and official vehicles; questions cite the demo standards' clauses where
natural, so revising a standard puts them on the instructor's review list. Idempotent: a bank whose
name the instructor already has is left alone. Needs the accounts and standards demos first."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.exams import bank as service
from app.exams import bank_transfer
from app.exams.bank_schemas import BankIn, QuestionIn
from app.exams.models import QuestionBank

MEETING = "Q/CZJG 001—2024"
CANTEEN = "DB3204/T 1012—2022"
CLEANING = "Q/CZJG 005—2023"
SECURITY = "Q/CZJG 007—2023"
VEHICLES = "Q/CZJG 011—2022"
ENERGY = "DB3204/T 1020—2023"
LETTERS = "ABCDEFGH"


@dataclass
class Q:
    type: str
    stem: str
    config: dict[str, Any]
    clause: str = ""  # "<code> <number>"
    difficulty: int = 2
    tags: list[str] = field(default_factory=list)
    explanation: str = ""
    points: float = 1.0
    tier: str | None = None


def _options(texts: list[str]) -> list[dict[str, str]]:
    return [{"id": LETTERS[i], "text": t} for i, t in enumerate(texts)]


def sc(stem: str, options: list[str], right: int, **kw: Any) -> Q:
    return Q("single_choice", stem, {"options": _options(options), "correct": LETTERS[right]}, **kw)


def mc(stem: str, options: list[str], right: list[int], partial: str = "proportional", **kw: Any) -> Q:
    return Q("multiple_choice", stem, {"options": _options(options), "correct": [LETTERS[i] for i in right],
                                       "partial_credit": partial}, points=kw.pop("points", 2.0), **kw)


def tf(stem: str, right: bool, **kw: Any) -> Q:
    return Q("true_false", stem, {"correct": right}, **kw)


def fb(stem: str, blanks: list[str], **kw: Any) -> Q:
    return Q("fill_blank", stem, {"blanks": [{"accepted": b.split("|")} for b in blanks]}, **kw)


def sa(stem: str, reference: str, rubric: list[tuple[str, float]], **kw: Any) -> Q:
    return Q("short_answer", stem, {"reference_answer": reference, "rubric": [{"criterion": c, "points": p} for c, p in rubric]},
             points=sum(p for _c, p in rubric), **kw)


def od(stem: str, steps: list[str], **kw: Any) -> Q:
    return Q("ordering", stem, {"items": _options(steps), "partial_credit": "position"}, **kw)


def mt(stem: str, pairs: list[tuple[str, str]], distractors: tuple[str, ...] = (), **kw: Any) -> Q:
    left = [{"id": f"L{i + 1}", "text": a} for i, (a, _b) in enumerate(pairs)]
    right = [{"id": f"R{i + 1}", "text": b} for i, (_a, b) in enumerate(pairs)]
    right += [{"id": f"R{len(pairs) + i + 1}", "text": d} for i, d in enumerate(distractors)]
    return Q("matching", stem, {"left": left, "right": right, "pairs": {f"L{i + 1}": f"R{i + 1}" for i in range(len(pairs))}}, **kw)


def nm(stem: str, value: float, tolerance: float = 0, unit: str = "", **kw: Any) -> Q:
    return Q("numerical", stem, {"answers": [{"value": value, "tolerance": tolerance}], "unit": unit}, **kw)


MEETING_QUESTIONS = [
    sc("会议桌签摆放时，字面应朝向（ ）。", ["会场入口", "主席台", "窗户一侧", "任意方向"], 0, clause=f"{MEETING} 5.1.1", difficulty=1,
       tags=["会议服务", "会前准备"], explanation="桌签应按座次表双面打印、居中摆放，字面朝向入口，横竖成线。"),
    sc("会议茶水用开水温度宜为（ ）。", ["60℃至70℃", "70℃至80℃", "85℃至95℃", "100℃"], 2, clause=f"{MEETING} 5.1.2",
       tags=["会议服务", "茶水"], explanation="开水温度宜为85℃至95℃，既能泡开茶叶又不易烫伤。"),
    sc("会议设备（话筒、投影、音响等）应在会前多长时间完成调试？", ["10分钟", "30分钟", "2小时", "前一天"], 1, clause=f"{MEETING} 5.2",
       tags=["会议服务", "设备"]),
    sc("会中续水时应从与会人员的哪一侧进行？", ["左侧", "右侧", "正面", "背后"], 1, clause=f"{MEETING} 6.1", tags=["会议服务", "会中服务"]),
    mc("会前设备调试应包括下列哪些设备？", ["话筒", "投影", "音响", "录音设备", "空调遥控器"], [0, 1, 2, 3], clause=f"{MEETING} 5.2",
       tags=["会议服务", "设备"], explanation="2024 版增加了录音设备调试并做好记录的要求。"),
    mc("关于会议服务人员保密要求，下列做法正确的有（ ）。", ["不记录会议内容", "不传播会议内容", "会后把剩余材料带回宿舍整理",
        "不将会议材料带离会场"],
       [0, 1, 3], clause=f"{MEETING} 4.2", tags=["会议服务", "保密"], difficulty=2),
    tf("续水时为了及时，可以打断正在发言的领导。", False, clause=f"{MEETING} 6.1", tags=["会议服务", "会中服务"], difficulty=1),
    tf("会议结束后发现的遗留物品应登记后移交。", True, clause=f"{MEETING} 7.1", tags=["会议服务", "会后整理"], difficulty=1),
    tf("服务人员只需熟悉茶水服务，会场设备操作由技术人员负责，无需了解。", False, tags=["会议服务"], difficulty=2),
    fb("会中服务每隔____分钟续水一次。", ["15|十五"], clause=f"{MEETING} 6.1", tags=["会议服务", "会中服务"]),
    fb("视频会议应在会前____分钟与主会场完成联调，并准备备用____和备用终端。", ["60|六十", "线路"], clause=f"{MEETING} 5.3.1",
       tags=["会议服务", "视频会议"], difficulty=3),
    sa("会议进行中投影设备突然故障，服务人员应如何处置？", "立即启用备用设备，同时报告会务负责人，必要时按应急预案处置，事后记录故障情况。",
       [("立即启用备用设备", 2), ("报告会务负责人", 2), ("记录并跟进维修", 1)], clause=f"{MEETING} 6.3", tags=["会议服务", "应急处置"],
       difficulty=3, tier="execution"),
    od("请按正确顺序排列会后整理的步骤。", ["检查会场", "收回桌签和未用材料", "登记并移交遗留物品", "关闭设备电源、灯光和空调"],
       clause=f"{MEETING} 7.1", tags=["会议服务", "会后整理"]),
    od("请按时间先后排列会前准备工作。", ["确认座次表", "摆放桌签", "准备茶水", "调试设备", "签到引导"], tags=["会议服务", "会前准备"],
        difficulty=3),
    mt("将会议服务环节与对应要求连线。", [("桌签摆放", "横竖成线，字面朝向入口"), ("茶水准备", "茶杯清洗消毒并保洁存放"),
                                            ("设备调试", "会前30分钟完成并记录"), ("续水", "每隔15分钟一次")],
       ("会后立即清空会场",), tags=["会议服务"], difficulty=3),
    nm("会议设备调试应在会前多少分钟完成？", 30, unit="分钟", clause=f"{MEETING} 5.2", tags=["会议服务", "设备"], difficulty=1),
    nm("按 2024 版规范，会中续水间隔为多少分钟？", 15, unit="分钟", clause=f"{MEETING} 6.1", tags=["会议服务"], difficulty=1),
    sc("会议材料分发时应（ ）。", ["按座次分发，左侧对齐桌沿", "堆放在入口处自取", "放在椅子上", "会后统一发放"], 0,
        clause=f"{MEETING} 5.1.3",
       tags=["会议服务", "会前准备"]),
    tf("会中应关闭会场门，入口安排专人签到引导。", True, clause=f"{MEETING} 6.2", tags=["会议服务", "秩序维护"]),
    sa("简述会议服务满意度评价的做法。", "每次会议后收集会务负责人意见，每季度统计满意度并提出改进措施。",
       [("每次会后收集意见", 2), ("每季度统计满意度并改进", 2)], clause=f"{MEETING} 8.2", tags=["会议服务", "评价"], difficulty=3,
       tier="management"),
    mc("公务用车派车调度应遵循的原则有（ ）。", ["先急后缓", "就近派车", "领导优先", "先到先得"], [0, 1], partial="none",
       clause=f"{VEHICLES} 5.2", tags=["公务用车"]),
    sc("紧急公务电话申请用车后，应在多长时间内补办手续？", ["2小时", "12小时", "24小时", "一周"], 2, clause=f"{VEHICLES} 5.1.2",
       tags=["公务用车", "用车申请"]),
    tf("驾驶员可以在下班后私自出车，只要自付油费。", False, clause=f"{VEHICLES} 6.2", tags=["公务用车", "驾驶员管理"], difficulty=1),
]

SECURITY_QUESTIONS = [
    sc("来访人员进入机关办公区前，门岗应（ ）。", ["直接放行", "登记身份信息并经被访部门确认", "只看工作证", "让其自行联系"], 1,
       clause=f"{SECURITY} 5.1.1", tags=["安全保卫", "门岗"], difficulty=1),
    sc("夜间巡逻的频次为（ ）。", ["每30分钟一次", "每1小时一次", "每2小时一次", "每4小时一次"], 1, clause=f"{SECURITY} 6.1",
        tags=["安全保卫", "巡逻"]),
    sc("监控图像保存时间不少于（ ）。", ["7天", "15天", "30天", "90天"], 2, clause=f"{SECURITY} 7.1", tags=["安全保卫", "监控"]),
    mc("巡逻时应重点检查的部位有（ ）。", ["门窗", "消防通道", "重点部位", "员工办公桌抽屉"], [0, 1, 2], clause=f"{SECURITY} 6.2",
       tags=["安全保卫", "巡逻"]),
    mc("发现火情时，下列做法正确的有（ ）。", ["立即报警", "组织人员疏散", "使用就近灭火器材扑救初起火灾", "先回监控室调阅录像"], [0, 1, 2],
       clause=f"{SECURITY} 8.1", tags=["安全保卫", "消防"], difficulty=2),
    tf("监控室可以单人值班，只要全程开着录像。", False, clause=f"{SECURITY} 7.1", tags=["安全保卫", "监控"]),
    tf("未经批准，任何人不得调阅、复制监控资料。", True, clause=f"{SECURITY} 7.2", tags=["安全保卫", "监控"], difficulty=1),
    tf("外来车辆凭预约信息或通知放行，并登记车牌号。", True, clause=f"{SECURITY} 5.2", tags=["安全保卫", "门岗"], difficulty=1),
    fb("日间巡逻每____小时一次，夜间巡逻每____小时一次。", ["2|两|二", "1|一"], clause=f"{SECURITY} 6.1", tags=["安全保卫", "巡逻"]),
    fb("消防和反恐应急演练每____组织一次。", ["半年|6个月|六个月"], clause=f"{SECURITY} 9", tags=["安全保卫", "演练"]),
    sa("遇有人员在机关门口滋事，门岗保安员应如何处置？",
        "保持冷静、稳定现场，劝离围观人员，立即报告值班领导和相关部门，必要时报警，并做好记录。",
       [("稳定现场", 2), ("立即报告", 2), ("必要时报警并记录", 1)], clause=f"{SECURITY} 8.2", tags=["安全保卫", "应急处置"],
       difficulty=4, tier="execution"),
    od("请按正确顺序排列发现初起火灾后的处置步骤。", ["立即报警", "组织人员疏散", "使用就近灭火器材扑救", "配合消防人员并报告情况"],
       clause=f"{SECURITY} 8.1", tags=["安全保卫", "消防"], difficulty=3),
    mt("将安全保卫岗位与其要求连线。", [("门岗", "来访登记并经确认后放行"), ("巡逻", "夜间每1小时一次"), ("监控室", "双人值班"),
                                         ("重要部位", "24小时值守")], tags=["安全保卫"], difficulty=3),
    nm("监控图像至少保存多少天？", 30, unit="天", clause=f"{SECURITY} 7.1", tags=["安全保卫", "监控"]),
    sc("对携带可疑物品的人员，门岗应（ ）。", ["拒绝交流直接驱离", "礼貌询问并按规定检查", "不予理会", "没收物品"], 1,
        clause=f"{SECURITY} 5.1.2",
       tags=["安全保卫", "门岗"]),
    sc("夏季公共机构室内空调温度设置不低于（ ）。", ["22℃", "24℃", "26℃", "28℃"], 2, clause=f"{ENERGY} 6.1.1", tags=["设施设备", "节能"],
       difficulty=1),
    mc("下列属于公共机构节能用能管理要求的有（ ）。", ["人走灯灭", "办公设备下班后关闭电源", "下班前30分钟关闭空调", "走廊照明24小时常亮"],
       [0, 1, 2], clause=f"{ENERGY} 6.2", tags=["设施设备", "节能"]),
    tf("数据中心、食堂等重点用能部位应单独计量。", True, clause=f"{ENERGY} 5.1.2", tags=["设施设备", "能耗统计"]),
    fb("冬季室内空调温度设置不高于____℃。", ["20|二十"], clause=f"{ENERGY} 6.1.1", tags=["设施设备", "节能"]),
    nm("能耗数据按月统计，按季度报送。一年应报送几次？", 4, unit="次", clause=f"{ENERGY} 5.2", tags=["设施设备", "能耗统计"], difficulty=2),
    od("请排列公务用车出车的正确流程。", ["用车单位提交申请", "调度员派车", "驾驶员检查车况", "如实填写行车记录"], clause=f"{VEHICLES} 5.3",
       tags=["公务用车"], difficulty=2),
    nm("公务用车的轮胎、制动和灯光应每几个月检查一次？", 1, unit="个月", clause=f"{VEHICLES} 7.2", tags=["公务用车", "车辆维护"]),
    sa("简述公务用车费用管理的要求。", "燃油、维修、保险等费用实行单车核算，每季度公开单车运行费用。",
       [("单车核算", 2), ("每季度公开", 2)], clause=f"{VEHICLES} 8.1", tags=["公务用车", "费用管理"], difficulty=3, tier="management"),
]

CANTEEN_CLEANING_QUESTIONS = [
    sc("食品烹饪时中心温度应不低于（ ）。", ["50℃", "60℃", "70℃", "100℃"], 2, clause=f"{CANTEEN} 5.2", tags=["食堂", "食品安全"],
        difficulty=1),
    sc("每餐次食品成品留样，每个品种不少于（ ）。", ["50g", "100g", "125g", "250g"], 2, clause=f"{CANTEEN} 5.3", tags=["食堂", "留样"]),
    sc("食品原料贮存应做到（ ）。", ["分类、分架、隔墙离地，先进先出", "统一堆放在地面", "后进先出", "生熟混放节省空间"], 0,
        clause=f"{CANTEEN} 4.3",
       tags=["食堂", "贮存"], difficulty=1),
    mc("食品原料验收时应检查的项目有（ ）。", ["感官性状", "温度", "保质期", "供应商的员工人数"], [0, 1, 2], clause=f"{CANTEEN} 4.2.2",
       tags=["食堂", "采购验收"]),
    mc("下列属于就餐服务要求的有（ ）。", ["开餐前30分钟完成清洁和餐具消毒", "菜品标注名称和主要过敏原", "设置剩餐称重和节约提示",
        "鼓励多打多剩"],
       [0, 1, 2], clause=f"{CANTEEN} 6.2", tags=["食堂", "就餐服务"]),
    tf("食堂从业人员持有效健康证明即可上岗，无需每日晨检。", False, clause=f"{CANTEEN} 4.1.2", tags=["食堂", "从业人员"]),
    tf("生熟食品的工具、容器应分开使用并有明显标识。", True, clause=f"{CANTEEN} 5.1", tags=["食堂", "食品安全"], difficulty=1),
    fb("留样食品应冷藏保存____小时以上。", ["48|四十八"], clause=f"{CANTEEN} 5.3", tags=["食堂", "留样"]),
    fb("食堂每____开展一次食品安全自查，每____开展就餐满意度测评。", ["月|个月", "季度|季"], clause=f"{CANTEEN} 7.1",
       tags=["食堂", "监督评价"], difficulty=3),
    sa("验收食品原料时发现冷冻肉品温度不合格，应如何处理？", "当场拒收并记录，通知供应商，向食品安全管理员报告，必要时更换供应商。",
       [("当场拒收", 2), ("记录并报告", 2), ("通知供应商", 1)], clause=f"{CANTEEN} 4.2.2", tags=["食堂", "采购验收"], difficulty=3,
       tier="execution"),
    od("请按正确顺序排列食品加工的主要环节。", ["采购索证索票", "验收", "分类贮存", "生熟分开加工", "烹饪至中心温度达标", "留样"],
       tags=["食堂", "食品安全"], difficulty=4),
    mt("将食堂管理要求与对应数值连线。", [("烹饪中心温度", "不低于70℃"), ("留样重量", "每个品种不少于125g"), ("留样时间", "48小时以上")],
       ("不少于30天",), clause=f"{CANTEEN} 5.3", tags=["食堂"], difficulty=3),
    nm("每个品种留样不少于多少克？", 125, unit="g", clause=f"{CANTEEN} 5.3", tags=["食堂", "留样"]),
    sc("卫生间巡回保洁频次为（ ）。", ["每天一次", "每半天一次", "每小时不少于一次", "有投诉时再清洁"], 2, clause=f"{CLEANING} 7.1",
       tags=["保洁", "卫生间"], difficulty=1),
    sc("保洁作业时应（ ）。", ["设置警示标识，避开办公高峰", "在上班高峰集中作业", "不必设置标识", "关闭电梯作业"], 0,
        clause=f"{CLEANING} 4.2",
       tags=["保洁"], difficulty=1),
    mc("办公室保洁时，下列做法正确的有（ ）。", ["按约定时间进入", "不翻动文件资料", "涉密废纸交由专人处理", "顺手整理办公桌上的文件"], [0,
        1, 2],
       clause=f"{CLEANING} 6.1", tags=["保洁", "办公室"]),
    tf("电梯按钮每日消毒不少于两次。", True, clause=f"{CLEANING} 5.2", tags=["保洁", "电梯"], difficulty=1),
    tf("涉密废纸可以和普通垃圾一起清运，以提高效率。", False, clause=f"{CLEANING} 6.2", tags=["保洁", "保密"], difficulty=1),
    fb("大厅和走廊地面每日湿拖不少于____次，保持无水渍、无污迹。", ["2|两|二"], clause=f"{CLEANING} 5.1.1", tags=["保洁", "公共区域"]),
    sa("保洁主管在日常巡查中发现卫生间有明显异味，应如何处理？",
        "检查通风和地漏，安排立即清洁和除味，保持地面干燥；检查巡查记录是否按每小时填写，督促整改并纳入月度考核。",
       [("立即安排清洁除味", 2), ("检查通风与巡查记录", 2), ("督促整改并纳入考核", 1)], clause=f"{CLEANING} 7.2", tags=["保洁", "卫生间"],
       difficulty=4, tier="management"),
    od("请按正确顺序排列茶水间保洁的步骤。", ["清倒垃圾", "擦拭台面和水槽", "擦拭开水器外表", "检查并补充用品"], clause=f"{CLEANING} 8.2",
       tags=["保洁", "茶水间"]),
    mt("将区域与保洁频次连线。", [("卫生间", "每小时巡回保洁"), ("电梯按钮", "每日消毒不少于两次"), ("大厅地面", "每日湿拖不少于两次"),
                                      ("废纸篓", "每日清倒")], ("每周一次",), tags=["保洁"], difficulty=2),
    nm("卫生间巡回保洁每小时不少于几次？", 1, unit="次", clause=f"{CLEANING} 7.1", tags=["保洁", "卫生间"]),
    sc("含氯消毒剂的配置和使用要求是（ ）。", ["现配现用，按说明书浓度配置", "一次配一周的量", "浓度越高越好", "与洗洁精混合使用"], 0,
        tags=["保洁", "消毒"],
       difficulty=2, explanation="原《防疫消毒工作规范》已废止，相关要求并入保洁规范。"),
]

BANKS = [
    ("会议服务与公务用车题库", "会前准备、会中服务、会后整理、视频会议保障与公务用车管理。", MEETING_QUESTIONS),
    ("安全保卫与设施节能题库", "门岗值守、巡逻、监控、应急处置，公共机构节能和公务用车运行。", SECURITY_QUESTIONS),
    ("食堂与保洁服务题库", "食品安全、加工制作、就餐服务，以及办公楼各区域保洁。", CANTEEN_CLEANING_QUESTIONS),
]


def seed(session: Session) -> dict[str, int]:
    owner = accounts.get_user_by_username(session, "instructor")
    if owner is None:
        raise RuntimeError("seed the accounts demo first")
    existing = set(session.exec(select(QuestionBank.name).where(QuestionBank.owner_id == owner.id)).all())
    refs = bank_transfer.resolve_clause_refs(session, [q.clause for _n, _d, qs in BANKS for q in qs if q.clause])
    banks = questions = 0
    for name, description, items in BANKS:
        if name in existing:
            continue
        made = service.create_bank(session, owner, BankIn(name=name, description=description))
        banks += 1
        for q in items:
            clause = refs.get(q.clause)
            service.create_question(session, owner, made, QuestionIn(
                type=q.type, stem=q.stem, config=q.config, points=q.points, difficulty=q.difficulty, explanation=q.explanation,
                tags=q.tags, category=q.tags[0] if q.tags else "", tier=q.tier,  # type: ignore[arg-type]
                clause_ids=[clause.id or 0] if clause else []))
            questions += 1
    session.flush()
    return {"question_banks_created": banks, "questions_created": questions}
