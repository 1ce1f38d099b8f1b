"""Seeded, varied English and Chinese text for the benchmarks.

Sentences are assembled from topic vocabularies, templates and random numbers, so two
chunks are (almost) never identical: identical text would hit Almanac's embedding cache
and make ingestion look faster than it is. Every sentence ends with punctuation, so the
tokens of a text are the concatenation of the tokens of its sentences (search.py relies
on that to tokenise a 100k-chunk corpus quickly).
"""

from __future__ import annotations

import random

# topic -> (English terms, Chinese terms); Chinese terms keep a few English acronyms, as real docs do.
TOPICS: dict[str, tuple[list[str], list[str]]] = {
    "refunds": (["refund request", "purchase receipt", "return label", "store credit", "original packaging", "gift card"],
                ["退款申请", "购物小票", "退货标签", "商店积分", "原包装", "礼品卡"]),
    "security": (["password policy", "two-factor login", "VPN access", "security badge", "phishing email", "laptop encryption"],
                 ["密码策略", "双因素认证", "VPN 访问", "门禁卡", "钓鱼邮件", "笔记本加密"]),
    "leave": (["annual leave", "sick leave", "parental leave", "overtime claim", "public holiday", "leave balance"],
              ["带薪年假", "病假", "育儿假", "加班申请", "法定节假日", "假期余额"]),
    "cafeteria": (["lunch menu", "vegetarian option", "meal voucher", "coffee machine", "dinner service", "food allergy"],
                  ["午餐菜单", "素食选项", "餐券", "咖啡机", "晚餐供应", "食物过敏"]),
    "helpdesk": (["support ticket", "printer driver", "software licence", "account lockout", "hardware request", "service desk"],
                 ["工单系统", "打印机驱动", "软件许可证", "账户锁定", "硬件申请", "服务台"]),
    "budget": (["quarterly budget", "expense report", "purchase order", "cost centre", "invoice approval", "forecast review"],
               ["季度预算", "报销单", "采购订单", "成本中心", "发票审批", "预算复核"]),
    "shipping": (["delivery window", "tracking number", "customs declaration", "warehouse stock", "express courier", "damaged parcel"],
                 ["配送时间", "物流单号", "报关单", "仓库库存", "快递公司", "破损包裹"]),
    "cloud": (["container image", "deployment pipeline", "load balancer", "database backup", "Kubernetes cluster", "log retention"],
              ["容器镜像", "部署流水线", "负载均衡", "数据库备份", "Kubernetes 集群", "日志保留"]),
    "travel": (["business trip", "hotel booking", "flight upgrade", "travel insurance", "per diem", "visa application"],
               ["出差申请", "酒店预订", "航班升舱", "旅行保险", "出差补贴", "签证办理"]),
    "onboarding": (["new hire", "welcome session", "mentor programme", "employee handbook", "probation review", "team introduction"],
                   ["新员工", "入职培训", "导师计划", "员工手册", "试用期考核", "团队介绍"]),
}

EN_ACTORS = ["Employees", "Customers", "Managers", "The finance team", "Contractors", "Team leads", "The IT helpdesk",
             "New staff", "Regional offices", "Every department", "Auditors", "Support agents"]
EN_VERBS = ["must submit", "should review", "can request", "are required to confirm", "may cancel", "need to update",
            "are encouraged to check", "have to approve", "must not share", "should archive"]
EN_TIMES = ["within {n} days", "before the end of each quarter", "every {n} weeks", "at least {n} hours in advance",
            "no later than {n} business days after the event", "once a month", "during the first {n} days",
            "by {n} p.m. on Fridays", "as soon as possible", "after {n} months of service"]
EN_TAILS = ["Exceptions need written approval from a director", "Late submissions are reviewed case by case",
            "The limit is {n} per person per year", "Details are listed in appendix {n}",
            "Questions go to the shared mailbox", "The rule was last revised in 20{n2}",
            "About {n} percent of cases are handled automatically", "Copies are kept for {n} years"]
ZH_ACTORS = ["员工", "客户", "部门经理", "财务部", "外包人员", "团队负责人", "IT 服务台", "新入职同事", "各分公司", "审计人员"]
ZH_VERBS = ["必须提交", "应当审核", "可以申请", "需要确认", "可以取消", "需要更新", "应定期检查", "负责审批", "不得外传", "需要归档"]
ZH_TIMES = ["在{n}天内", "每季度末之前", "每{n}周", "至少提前{n}小时", "在活动结束后{n}个工作日内", "每月一次",
            "入职后前{n}天", "每周五下午{n}点前", "尽快", "工作满{n}个月后"]
ZH_TAILS = ["特殊情况需要总监书面批准", "逾期提交的申请将逐一审核", "每人每年上限为{n}次", "详细说明见附录{n}",
            "如有疑问请联系共享邮箱", "该规定最近一次修订于20{n2}年", "约百分之{n}的申请可以自动处理", "相关记录保存{n}年"]


def _fill(rng: random.Random, template: str) -> str:
    return template.format(n=rng.randint(2, 90), n2=rng.randint(10, 25))


def en_sentence(rng: random.Random, topic: str) -> str:
    terms = TOPICS[topic][0]
    kind = rng.random()
    if kind < 0.4:
        s = f"{rng.choice(EN_ACTORS)} {rng.choice(EN_VERBS)} the {rng.choice(terms)} {_fill(rng, rng.choice(EN_TIMES))}."
    elif kind < 0.7:
        a, b = rng.sample(terms, 2)
        s = f"If the {a} is missing, {rng.choice(EN_ACTORS).lower()} {rng.choice(EN_VERBS)} the {b} {_fill(rng, rng.choice(EN_TIMES))}."
    else:
        s = f"For every {rng.choice(terms)}: {_fill(rng, rng.choice(EN_TAILS)).lower()}."
    return s[0].upper() + s[1:]


def zh_sentence(rng: random.Random, topic: str) -> str:
    terms = TOPICS[topic][1]
    kind = rng.random()
    if kind < 0.4:
        return f"{rng.choice(ZH_ACTORS)}{_fill(rng, rng.choice(ZH_TIMES))}{rng.choice(ZH_VERBS)}{rng.choice(terms)}。"
    if kind < 0.7:
        a, b = rng.sample(terms, 2)
        return f"如果{a}缺失，{rng.choice(ZH_ACTORS)}{_fill(rng, rng.choice(ZH_TIMES))}{rng.choice(ZH_VERBS)}{b}。"
    return f"关于{rng.choice(terms)}：{_fill(rng, rng.choice(ZH_TAILS))}。"


def sentence(rng: random.Random, topic: str, lang: str) -> str:
    return zh_sentence(rng, topic) if lang == "zh" else en_sentence(rng, topic)


def join(sentences: list[str], lang: str) -> str:
    return ("" if lang == "zh" else " ").join(sentences)


def page(rng: random.Random, lang: str, n_sentences: int, topic: str | None = None) -> tuple[str, str]:
    """(topic, paragraphs of about one page) in one language, mostly on one topic."""
    topic = topic or rng.choice(list(TOPICS))
    paras, left = [], n_sentences
    while left > 0:
        k = min(left, rng.randint(3, 6))
        t = topic if rng.random() < 0.8 else rng.choice(list(TOPICS))
        paras.append(join([sentence(rng, t, lang) for _ in range(k)], lang))
        left -= k
    return topic, "\n\n".join(paras)


def queries(rng: random.Random, n: int) -> list[str]:
    """Short user questions, half English, half Chinese."""
    out = []
    for i in range(n):
        topic = rng.choice(list(TOPICS))
        en, zh = TOPICS[topic]
        if i % 2 == 0:
            a, b = rng.sample(en, 2)
            out.append(rng.choice([f"how do I submit a {a}", f"what is the deadline for the {a} and {b}",
                                   f"who approves the {a}", f"{a} rules for contractors"]))
        else:
            a, b = rng.sample(zh, 2)
            out.append(rng.choice([f"{a}怎么申请", f"{a}和{b}的截止时间是什么", f"谁负责审批{a}", f"外包人员的{a}规定"]))
    return out
