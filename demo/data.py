"""Static tables for the demo county built by `manage.py seed_demo`.

The county is Lanling (兰陵县) in Linyi (临沂市), Shandong (山东省), the county of the seed
story. Township codes follow the national scheme: subdistricts (街道) 001-099, towns (镇)
100-199, townships (乡) 200-399. Villages, schools and people are invented but shaped
like the real ones.
"""
from students.choices import (
    HouseholdCategory,
    LeaveReason,
    PovertyCause,
    Role,
    Stage,
    Status,
)

PROVINCE = ("37", "山东省")
CITY = ("3713", "临沂市")
COUNTY = ("371324", "兰陵县")

# Code, name, relative share of the county's aided students, villages.
# The first two villages of each township have a village primary school.
TOWNSHIPS = (
    ("371324001", "卞庄街道", 5, ("东关村", "西关村", "北关村", "于埠村", "前西庄村", "后塘村")),
    ("371324002", "苍山街道", 4, ("城前村", "小岭村", "大岭村", "石龙湖村", "西石埠村", "东苑村")),
    ("371324100", "向城镇", 7, ("向城村", "杨坡村", "西洙村", "东洙村", "宋庄村", "石埠村")),
    ("371324101", "尚岩镇", 6, ("尚岩村", "马头村", "南庄村", "石湖村", "大平村", "前岭村")),
    ("371324102", "长城镇", 7, ("长城村", "白庄村", "后疃村", "新庄村", "西湖村", "秦庄村")),
    ("371324103", "磨山镇", 6, ("磨山村", "大宋村", "后楼村", "涝坡村", "东岭村", "金山村")),
    ("371324104", "神山镇", 6, ("神山村", "岳庄村", "后官庄村", "洪山村", "西峪村", "刘王庄村")),
    ("371324105", "车辋镇", 6, ("车辋村", "王辛庄村", "前寨村", "官庄村", "西朱村", "孙楼村")),
    ("371324106", "大仲村镇", 5, ("大仲村", "小仲村", "陈庄村", "河湾村", "东林村", "岔河村")),
    ("371324107", "兰陵镇", 7, ("兰陵村", "代村", "压油沟村", "南刘庄村", "北阳村", "西城村")),
    ("371324108", "新兴镇", 6, ("新兴村", "鲁坊村", "前进村", "东高庄村", "西仓村", "张庄村")),
    ("371324109", "南桥镇", 5, ("南桥村", "北桥村", "沙沟村", "孟庄村", "柳行村", "花园村")),
    ("371324110", "鲁城镇", 5, ("鲁城村", "后寨村", "东城子村", "西泇河村", "台子村", "王庄村")),
    ("371324111", "庄坞镇", 5, ("庄坞村", "东陈庄村", "西陈庄村", "刘家庄村", "南岭村", "北杨庄村")),
    ("371324112", "矿坑镇", 5, ("矿坑村", "岩坡村", "东蒋村", "西蒋村", "大炉村", "胡庄村")),
    ("371324113", "芦柞镇", 5, ("芦柞村", "前徐村", "后徐村", "东王庄村", "南仲村", "黄山村")),
    ("371324200", "下村乡", 6, ("下村", "上村", "河南村", "河北村", "石门村", "西岭村")),
)
VILLAGE_SCHOOLS_PER_TOWNSHIP = 2

# Schools every township has: name pattern, stages, share of the township's students of
# those stages, number of classes per grade.
TOWNSHIP_SCHOOLS = (
    ("兰陵县{township}中心幼儿园", (Stage.PRESCHOOL,), 3, 4),
    ("兰陵县{township}中心小学", (Stage.PRIMARY,), 3, 5),
    ("兰陵县{township}初级中学", (Stage.JUNIOR,), 1, 8),
)
# Village schools keep a preschool class (附设学前班) next to the primary grades.
VILLAGE_SCHOOL = ("兰陵县{township}{village}小学", (Stage.PRESCHOOL, Stage.PRIMARY), 1, 1)

# County-run urban schools in the two subdistricts: name, township code, stages, share,
# classes per grade. Senior and vocational schools take students from the whole county.
COUNTY_SCHOOLS = (
    ("兰陵县实验幼儿园", "371324001", (Stage.PRESCHOOL,), 2, 6),
    ("兰陵县第一实验小学", "371324001", (Stage.PRIMARY,), 3, 10),
    ("兰陵县第二实验小学", "371324002", (Stage.PRIMARY,), 3, 8),
    ("兰陵县实验中学", "371324002", (Stage.JUNIOR,), 2, 14),
    ("兰陵县第一中学", "371324001", (Stage.SENIOR,), 5, 24),
    ("兰陵县第二中学", "371324002", (Stage.SENIOR,), 3, 18),
    ("兰陵县第四中学", "371324001", (Stage.SENIOR,), 3, 16),
    ("兰陵县职业中专", "371324002", (Stage.VOCATIONAL,), 1, 20),
)
COUNTY_WIDE_STAGES = (Stage.SENIOR, Stage.VOCATIONAL)
SCHOOL_CODE_PREFIX = "213713"

# Chance that a rural school is flagged weak (薄弱学校) / in a poor village.
WEAK_SCHOOL_CHANCE = {"county": 0.0, "township": 0.3, "village": 0.8}
POOR_VILLAGE_CHANCE = 0.5

# Higher education is left out: those students study outside the county.
STAGE_WEIGHTS = {
    Stage.PRESCHOOL: 12,
    Stage.PRIMARY: 44,
    Stage.JUNIOR: 24,
    Stage.SENIOR: 12,
    Stage.VOCATIONAL: 8,
}
STATUS_WEIGHTS = {
    Status.ENROLLED: 970,
    Status.OUTSIDE_COUNTY: 12,
    Status.HOME_TAUGHT: 6,
    Status.SUSPENDED: 4,
    Status.DROPPED_OUT: 3,
    Status.NOT_ENROLLED: 3,
}
# Share of students a year older than their grade (late start or repeated a year).
OLDER_THAN_GRADE_CHANCE = 0.08
LEFT_ROSTER_CHANCE = 0.01
# Reason for leaving the roster, the status that goes with it (None: unchanged), the
# explanation, relative frequency.
LEAVE_REASONS = (
    (LeaveReason.MOVED_AWAY, Status.OUTSIDE_COUNTY, "随父母迁往外地就读", 5),
    (LeaveReason.NO_LONGER_ELIGIBLE, None, "家庭经动态调整不再纳入资助范围", 3),
    (LeaveReason.OTHER, None, "经核实信息有误，已移出名单", 1),
)

HOUSEHOLD_CATEGORY_WEIGHTS = {
    HouseholdCategory.REGISTERED_LIFTED: 55,
    HouseholdCategory.REGISTERED_POOR: 15,
    HouseholdCategory.UNSTABLE: 8,
    HouseholdCategory.MARGINAL: 8,
    HouseholdCategory.DIBAO: 7,
    HouseholdCategory.TEKUN: 3,
    HouseholdCategory.SUDDEN_HARDSHIP: 3,
    HouseholdCategory.OTHER: 1,
}
# Only registered poor households (建档立卡户) carry a registration number.
REGISTERED_CATEGORIES = (
    HouseholdCategory.REGISTERED_POOR,
    HouseholdCategory.REGISTERED_LIFTED,
    HouseholdCategory.UNSTABLE,
)
POVERTY_CAUSE_WEIGHTS = {
    PovertyCause.ILLNESS: 35,
    PovertyCause.DISABILITY: 22,
    PovertyCause.EDUCATION: 12,
    PovertyCause.LACK_OF_LABOUR: 10,
    PovertyCause.LACK_OF_SKILLS: 8,
    PovertyCause.LACK_OF_CAPITAL: 4,
    PovertyCause.DISASTER: 2,
    PovertyCause.LACK_OF_LAND: 2,
    PovertyCause.LACK_OF_DRIVE: 2,
    PovertyCause.POOR_TRANSPORT: 1,
    PovertyCause.OTHER: 2,
}
CHILDREN_PER_HOUSEHOLD_WEIGHTS = {1: 62, 2: 30, 3: 8}
# Who the guardian is: the head of household, the mother, or a grandparent.
GUARDIAN_WEIGHTS = {"head": 60, "mother": 20, "grandparent": 20}
HEAD_IS_FATHER_CHANCE = 0.85

# Common surnames of Shandong with rough relative frequencies.
SURNAMES = {
    "王": 90, "张": 75, "李": 72, "刘": 60, "陈": 25, "杨": 25, "赵": 22, "孙": 28,
    "徐": 20, "高": 20, "马": 15, "于": 15, "董": 12, "宋": 14, "郭": 12, "吕": 10,
    "孔": 8, "颜": 5, "朱": 10, "胡": 8, "韩": 9, "魏": 8, "田": 8, "杜": 7, "蒋": 6,
    "褚": 4, "庞": 4, "邵": 5, "曹": 7, "秦": 5, "石": 6, "薛": 5, "贾": 6, "丁": 6,
}
CHILD_NAME_CHARACTERS = {
    "M": (
        "子浩宇俊博泽梓嘉明志家一天文睿佳晨昊铭思",
        "轩然宇豪杰辰航涛阳鑫磊凯睿铭博翔彬瑞鹏琦",
    ),
    "F": (
        "欣雨梓思佳诗雅可紫语若一心晓静婉梦乐书嘉",
        "怡涵萱琪悦妍彤菲雯婷瑶琳馨颖月甜洁慧娜宁",
    ),
}
SINGLE_CHARACTER_NAME_CHANCE = 0.15
ADULT_GIVEN_NAMES = {
    "M": (
        "建国", "建华", "建军", "志强", "志刚", "国强", "德明", "长春", "立新", "宝林",
        "庆华", "永刚", "文军", "学军", "振东", "洪涛", "海涛", "传军", "兆利", "庆友",
        "加贵", "传胜", "明", "军", "勇", "强", "伟", "刚",
    ),
    "F": (
        "秀英", "桂兰", "玉梅", "秀兰", "红梅", "凤英", "桂英", "淑珍", "春燕", "丽娜",
        "玉霞", "秀芳", "美玲", "翠兰", "丽", "艳", "娟", "玲", "燕", "霞",
    ),
}
ELDER_GIVEN_NAMES = ("德胜", "有才", "长林", "玉兰", "凤兰", "金山", "桂芝", "广田", "成福")
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139",
    "150", "151", "152", "155", "156", "157", "158", "159",
    "180", "181", "182", "183", "185", "186", "187", "188", "189",
)

DEMO_PASSWORD = "demo12345"
# Username, full name, role, region code (county-wide roles) or school name.
DEMO_USERS = (
    ("bureau", "刘振华", Role.BUREAU_ADMIN, "371324"),
    # A second bureau account: the one who approves what "bureau" prepares (审核 ≠ 经办).
    ("approver", "王建国", Role.BUREAU_ADMIN, "371324"),
    ("city", "陈立新", Role.VIEWER, "3713"),
    ("school1", "张秀梅", Role.SCHOOL_ADMIN, "兰陵县向城镇中心小学"),
    ("school2", "孙志强", Role.SCHOOL_ADMIN, "兰陵县向城镇初级中学"),
    ("teacher", "李晓燕", Role.TEACHER, "兰陵县向城镇中心小学"),
)
# Logins made with the casework (demo.casework): the first grid leader and Zichuan's bureau.
CASEWORK_LOGINS = ("grid", "zichuan")
CHANGE_REASON = "演示数据"
# Share of students who board at school, by stage (rural junior schools board most).
BOARDER_CHANCE = {Stage.PRIMARY: 0.12, Stage.JUNIOR: 0.45, Stage.SENIOR: 0.8, Stage.VOCATIONAL: 0.6}
