"""Demo standards (Chinese, written for the demo; not real standard texts). Idempotent: a standard
whose code already exists is left alone. Needs the accounts demo (owner `instructor`, decider `admin`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlmodel import Session

from app.accounts import service as accounts
from app.standards import service
from app.standards.models import Category, Level
from app.standards.schemas import StandardCreate

COMMON_HEAD = """1 范围
本文件规定了{subject}的基本要求、{scope}、监督与评价。
本文件适用于市级机关及参照执行的事业单位。
2 规范性引用文件
本文件没有规范性引用文件。
3 术语和定义
本文件没有需要界定的术语和定义。
"""


@dataclass
class Edition:
    label: str
    code: str
    text: str
    effective: date
    note: str = ""


@dataclass
class Spec:
    title: str
    category: Category
    level: Level
    summary: str
    editions: list[Edition]
    abolish: tuple[date, str] | None = None
    draft: Edition | None = None
    extra: dict[str, str] = field(default_factory=dict)


MEETING_2021 = COMMON_HEAD.format(subject="机关会议服务", scope="会前准备、会中服务、会后整理") + """4 基本要求
4.1 服务人员应着统一工装，佩戴工号牌，仪容整洁。
4.2 服务人员应熟悉会场设备的基本操作。
5 会前准备
5.1 会场布置
5.1.1 桌签摆放
桌签应按座次表摆放，字面朝向入口，间距一致。
5.1.2 茶水准备
茶杯应提前清洗消毒，茶叶按人数定量放置。
5.2 设备调试
会前30分钟完成话筒、投影和音响调试。
6 会中服务
6.1 续水
每隔20分钟续水一次，续水时不打扰发言人。
6.2 应急处置
设备故障时立即启用备用设备并报告会务负责人。
7 会后整理
7.1 检查会场，收回桌签和遗留物品。
7.2 关闭设备电源和空调，做好节能。
"""

MEETING_2024 = COMMON_HEAD.format(subject="机关会议服务", scope="会前准备、会中服务、会后整理和视频会议保障") + """4 基本要求
4.1 人员要求
4.1.1 服务人员应着统一工装，佩戴工号牌，仪容整洁。
4.1.2 服务人员应经过岗前培训并考核合格。
4.2 保密要求
服务人员不得记录、传播会议内容，不得将会议材料带离会场。
5 会前准备
5.1 会场布置
5.1.1 桌签摆放
桌签应按座次表双面打印、居中摆放，字面朝向入口，横竖成线。
5.1.2 茶水准备
茶杯应提前清洗消毒并保洁存放，茶叶按人数定量放置，开水温度宜为85℃至95℃。
5.1.3 会议材料
会议材料应按座次分发，左侧对齐桌沿。
5.2 设备调试
会前30分钟完成话筒、投影、音响和录音设备调试，并做好记录。
5.3 视频会议
5.3.1 会前60分钟与主会场完成联调。
5.3.2 应准备备用线路和备用终端。
6 会中服务
6.1 续水
每隔15分钟续水一次，续水时从与会人员右侧进行，不打扰发言人。
6.2 秩序维护
会场入口应安排专人签到引导，会中关闭会场门。
6.3 应急处置
设备故障或突发身体不适时，按应急预案处置并报告会务负责人。
7 会后整理
7.1 检查会场，收回桌签、未用材料和遗留物品，遗留物品登记后移交。
7.2 关闭设备电源、灯光和空调，做好节能。
8 服务评价
8.1 每次会议后收集会务负责人意见。
8.2 每季度统计满意度并提出改进措施。
"""

CANTEEN = COMMON_HEAD.format(subject="机关食堂餐饮服务", scope="食品安全、加工制作、就餐服务") + """4 食品安全管理
4.1 制度要求
4.1.1 食堂应建立食品安全管理制度和责任制，明确食品安全管理员。
4.1.2 从业人员应持有效健康证明上岗，每日晨检并记录。
4.2 采购与验收
4.2.1 食品原料应从具有合法资质的供应商采购，索证索票。
4.2.2 验收时检查感官性状、温度和保质期，不合格的当场拒收。
4.3 贮存
原料应分类、分架、隔墙离地存放，先进先出。
5 加工制作
5.1 生熟分开
生熟食品的工具、容器应分开使用并有明显标识。
5.2 烹饪温度
食品烹饪时中心温度应不低于70℃。
5.3 留样
每餐次的食品成品应留样，每个品种不少于125g，冷藏保存48小时以上。
6 就餐服务
6.1 开餐前30分钟完成餐厅清洁和餐具消毒。
6.2 菜品应标注名称和主要过敏原。
6.3 倡导光盘行动，设置剩餐称重和节约提示。
7 监督与评价
7.1 每月开展一次食品安全自查。
7.2 每季度开展就餐满意度测评。
"""

CLEANING = COMMON_HEAD.format(subject="机关办公楼保洁服务", scope="公共区域保洁、办公室保洁、卫生间保洁") + """4 基本要求
4.1 保洁人员应经过培训，掌握清洁剂的安全使用方法。
4.2 作业时应设置警示标识，避开办公高峰。
5 公共区域保洁
5.1 大厅和走廊
5.1.1 地面每日湿拖不少于两次，保持无水渍、无污迹。
5.1.2 玻璃门每日擦拭，保持明亮无手印。
5.2 电梯
电梯轿厢每日清洁，按钮每日消毒不少于两次。
5.3 楼梯
扶手每日擦拭，台阶无杂物。
6 办公室保洁
6.1 按约定时间进入办公室作业，不翻动文件资料。
6.2 废纸篓每日清倒，涉密废纸交由专人处理。
7 卫生间保洁
7.1 巡回保洁
卫生间实行巡回保洁，每小时不少于一次，并填写巡查记录。
7.2 异味控制
保持通风，地面干燥，无明显异味。
8 茶水间保洁
8.1 开水器外表每日擦拭，定期除垢。
8.2 茶水间台面和水槽每日清洁，垃圾日产日清。
9 检查与考核
9.1 保洁主管每日巡查，发现问题及时整改。
9.2 每月按检查评分表考核。
"""

SECURITY = COMMON_HEAD.format(subject="机关安全保卫服务", scope="门岗值守、巡逻、监控和应急处置") + """4 基本要求
4.1 保安员应持证上岗，着装规范，文明执勤。
4.2 重要部位应实行24小时值守。
5 门岗值守
5.1 人员出入
5.1.1 来访人员应登记身份信息，经被访部门确认后方可进入。
5.1.2 对携带可疑物品的人员，应礼貌询问并按规定检查。
5.2 车辆出入
外来车辆凭预约信息或通知放行，并登记车牌号。
6 巡逻
6.1 日间巡逻每2小时一次，夜间巡逻每1小时一次。
6.2 巡逻应重点检查门窗、消防通道和重点部位，发现隐患及时报告。
7 监控室管理
7.1 监控室实行双人值班，监控图像保存不少于30天。
7.2 未经批准不得调阅、复制监控资料。
8 应急处置
8.1 火情处置
发现火情立即报警，组织人员疏散，使用就近灭火器材扑救初起火灾。
8.2 治安事件
遇有闹访、滋事等情况，应稳定现场并立即报告。
9 培训与演练
每半年组织一次消防和反恐应急演练。
"""

VEHICLES = COMMON_HEAD.format(subject="公务用车运行管理", scope="用车申请、派车调度、驾驶员管理和费用管理") + """4 基本原则
公务用车实行集中管理、统一调度、规范使用。
5 用车申请与派车
5.1 用车申请
5.1.1 用车单位应通过平台提前提交申请，注明事由、时间和地点。
5.1.2 紧急公务可电话申请，事后24小时内补办手续。
5.2 派车调度
调度员应按照先急后缓、就近派车的原则安排车辆。
5.3 出车登记
驾驶员出车前检查车况，如实填写行车记录。
6 驾驶员管理
6.1 驾驶员应遵守交通法规，不得酒后驾驶、疲劳驾驶。
6.2 驾驶员不得私自出车或将车辆交他人驾驶。
7 车辆维护
7.1 定期保养
车辆按厂家规定里程或时间进行保养，实行定点维修。
7.2 安全检查
每月检查一次轮胎、制动和灯光。
8 费用管理
8.1 燃油、维修、保险等费用实行单车核算。
8.2 每季度公开单车运行费用。
"""

ENERGY = COMMON_HEAD.format(subject="公共机构节能管理", scope="能耗统计、用能管理和节能改造") + """4 组织管理
4.1 公共机构应明确节能管理责任人和能源管理岗位。
4.2 应制定年度节能目标和实施方案。
5 能耗统计
5.1 计量
5.1.1 水、电、气等能源应分户、分类计量。
5.1.2 数据中心、食堂等重点用能部位应单独计量。
5.2 报送
能耗数据应按月统计，按季度报送。
6 用能管理
6.1 空调
6.1.1 夏季室内空调温度设置不低于26℃，冬季不高于20℃。
6.1.2 下班前30分钟关闭空调。
6.2 照明
充分利用自然采光，做到人走灯灭。
6.3 办公设备
办公设备下班后应关闭电源，减少待机能耗。
7 节能改造
7.1 优先采用合同能源管理方式实施节能改造。
7.2 改造完成后应进行节能量评估。
8 宣传与考核
8.1 每年开展节能宣传周活动。
8.2 节能目标完成情况纳入年度考核。
"""

EPIDEMIC = COMMON_HEAD.format(subject="机关办公场所防疫消毒工作", scope="日常消毒、重点部位消毒和人员防护") + """4 日常消毒
4.1 公共区域
4.1.1 大厅、电梯、楼梯扶手每日消毒不少于两次。
4.1.2 会议室使用后及时通风消毒。
4.2 消毒剂使用
含氯消毒剂应现配现用，浓度按说明书配置。
5 重点部位
5.1 食堂餐桌餐椅每餐后消毒。
5.2 卫生间每日消毒不少于三次。
6 人员防护
6.1 消毒人员应佩戴口罩、手套等防护用品。
6.2 消毒记录应完整，保存不少于一年。
"""

OFFICE_DRAFT = COMMON_HEAD.format(subject="机关办公用房使用管理", scope="配置、使用、调剂和维修") + """4 配置标准
4.1 办公用房按照核定的编制和职级配置，不得超标准配置。
4.2 服务用房和设备用房按实际需要从严核定。
5 使用管理
5.1 使用单位应建立办公用房台账，做到账实相符。
5.2 不得擅自改变办公用房使用功能。
6 调剂与腾退
6.1 调剂
超标准使用的办公用房应限期调剂。
6.2 腾退
机构撤并或人员减少后，多余的办公用房应及时腾退移交。
7 维修管理
7.1 日常维修由使用单位报修，维修单位48小时内响应。
7.2 大中修项目应纳入年度计划并经审批。
"""


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai


SPECS = [
    Spec("会议服务规范", Category.meeting_service, Level.internal, "机关会议从会前准备到会后整理的服务要求，含视频会议保障。", [
        Edition("2021 版", "Q/CZJG 001—2021", MEETING_2021, date(2021, 6, 1), "局务会审议通过"),
        Edition("2024 版", "Q/CZJG 001—2024", MEETING_2024, date(2024, 3, 1), "增加视频会议保障和保密要求"),
    ]),
    Spec("机关食堂餐饮服务规范", Category.canteen, Level.local, "机关食堂食品安全、加工制作和就餐服务的要求。", [
        Edition("2022 版", "DB3204/T 1012—2022", CANTEEN, date(2022, 9, 1), "市市场监管局批准发布"),
    ]),
    Spec("办公楼保洁服务规范", Category.cleaning, Level.internal, "机关办公楼公共区域、办公室、卫生间和茶水间的保洁要求。", [
        Edition("2023 版", "Q/CZJG 005—2023", CLEANING, date(2023, 4, 1), "局务会审议通过"),
    ]),
    Spec("机关安全保卫服务规范", Category.security, Level.internal, "门岗值守、巡逻、监控室管理和应急处置。", [
        Edition("2023 版", "Q/CZJG 007—2023", SECURITY, date(2023, 7, 1), "局务会审议通过"),
    ]),
    Spec("公务用车运行管理规范", Category.official_vehicles, Level.internal, "公务用车申请、派车、驾驶员、维护和费用管理。", [
        Edition("2022 版", "Q/CZJG 011—2022", VEHICLES, date(2022, 1, 1), "局务会审议通过"),
    ]),
    Spec("公共机构节能管理规范", Category.energy_saving, Level.local, "能耗计量统计、空调照明等用能管理和节能改造。", [
        Edition("2023 版", "DB3204/T 1020—2023", ENERGY, date(2023, 10, 1), "市市场监管局批准发布"),
    ]),
    Spec("机关办公场所防疫消毒工作规范", Category.epidemic_prevention, Level.internal, "办公场所日常消毒和人员防护（已废止）。", [
        Edition("2020 版", "Q/CZJG 009—2020", EPIDEMIC, date(2020, 3, 1), "局务会审议通过"),
    ], abolish=(date(2023, 3, 1), "相关要求已并入保洁和安全保卫规范")),
    Spec("机关办公用房使用管理规范", Category.office_buildings, Level.internal, "办公用房配置、使用、调剂和维修（征求意见稿）。", [],
         draft=Edition("征求意见稿", "Q/CZJG 013—2025", OFFICE_DRAFT, date(2025, 1, 1))),
]


def seed(session: Session) -> dict[str, int]:
    owner = accounts.get_user_by_username(session, "instructor")
    decider = accounts.get_user_by_username(session, "admin")
    if owner is None or decider is None:
        raise RuntimeError("seed the accounts demo first")
    created = 0
    for spec in SPECS:
        editions = spec.editions or ([spec.draft] if spec.draft else [])
        final_code = editions[-1].code
        first_code = editions[0].code
        if service.get_standard_by_code(session, final_code) or service.get_standard_by_code(session, first_code):
            continue
        created += 1
        first = editions[0]
        standard = service.create_standard(session, owner, StandardCreate(
            code=first.code, title=spec.title, category=spec.category, level=spec.level, summary=spec.summary,
            version_label=first.label))
        version = standard.versions[0]
        service.import_text(session, owner, version, first.text)
        if spec.editions:
            service.publish(session, decider, version, effective_from=first.effective, note=first.note, now=_at(first.effective))
        for edition in spec.editions[1:]:
            draft = service.start_revision(session, owner, version, note="启动复审修订", now=_at(edition.effective.replace(month=1)))
            draft.label, draft.code = edition.label, edition.code
            session.add(draft)
            service.import_text(session, owner, draft, edition.text)
            version = service.publish(session, decider, draft, effective_from=edition.effective, note=edition.note,
                                      now=_at(edition.effective))
        if spec.abolish:
            day, note = spec.abolish
            service.abolish(session, decider, version, effective_to=day, note=note, now=_at(day))
    session.flush()
    return {"standards_created": created, "standards": len(SPECS)}
