"""A small labelled bilingual set for score calibration: short single-topic documents and questions, each
question labelled with the documents that answer it (or are plainly on its topic). Every other
(question, document) pair is unrelated. Some topics are close on purpose (refund / warranty / shipping /
pricing; leave / overtime / sick leave), as in a real customer-service or HR knowledge base."""

from __future__ import annotations

DOCS = {
    "refund.md": "# Refund policy\n\nCustomers may return any product within thirty days of purchase for a full "
                 "refund. Items must be unused and in their original packaging. Gift cards and downloadable "
                 "software cannot be refunded.",
    "warranty.md": "# Warranty\n\nEvery laptop comes with a two-year warranty that covers hardware faults. "
                   "Accidental damage such as a cracked screen is not covered. To make a claim, send the serial "
                   "number and a description of the fault to the service centre.",
    "pricing.md": "# Pricing\n\nThe basic plan costs ten euros per month and the team plan costs forty euros per "
                  "month. Paying yearly gives two months free. Prices include VAT.",
    "shipping.md": "# Shipping\n\nOrders are shipped within two business days. Express delivery arrives the next "
                   "day and costs fifteen euros. International parcels take five to ten days.",
    "security.txt": "Security guidelines. Employees must rotate their passwords every ninety days. Two-factor "
                    "authentication is mandatory for all remote access to company systems. Lost laptops must be "
                    "reported to the IT helpdesk within one hour.",
    "garden.html": "<html><body><h1>Tomato growing</h1><p>Tomatoes need at least six hours of direct sunlight "
                   "each day and should be watered deeply twice a week.</p></body></html>",
    "travel.md": "# Travel policy\n\nEconomy class is required for flights shorter than six hours. Hotel costs are "
                 "reimbursed up to 150 euros per night in major cities.",
    "onboarding.md": "# Onboarding\n\nNew employees receive their laptop on the first day, meet their buddy and "
                     "finish the compliance training during the first week.",
    "privacy.md": "# Privacy\n\nPersonal data is stored in the European Union and deleted after two years of "
                  "inactivity. Customers can ask for an export of their data by email.",
    "support.md": "# Support hours\n\nOur support team answers by chat and phone from Monday to Friday, 9:00 to "
                  "18:00 CET. Every ticket gets a first reply within four hours.",
    "年假制度.md": "# 年假制度\n\n员工入职满一年后每年享有十五天带薪年假。年假需要提前两周向直属经理申请，"
                  "未休完的年假可以顺延到次年三月底。",
    "病假.md": "# 病假\n\n病假每年最多十天，连续请假超过两天需要提供医院证明。",
    "食堂.txt": "公司食堂每天中午十一点半开放，提供素食和清真餐。晚餐时间为下午五点半到七点。",
    "报销.md": "# 差旅报销\n\n差旅费用须在出差结束后三十天内提交报销申请，并附上发票原件。单笔超过五千元的报销"
              "需要部门总监审批。",
    "退货.md": "# 退货政策\n\n商品签收后七天内可以无理由退货，退款将在收到退货后五个工作日内原路返回。"
              "定制商品不支持退货。",
    "会议室.md": "# 会议室预订\n\n会议室需要通过日历系统预订，每次预订最长两小时。取消预订请至少提前一小时。",
    "加班.md": "# 加班制度\n\n加班需要提前在系统中申请。工作日加班按一点五倍工资计算，周末加班可以选择调休。",
    "subscription.md": "# Cancelling a subscription\n\nYou can cancel your subscription at any time from the "
                       "account page. The plan stays active until the end of the paid period; unused months are "
                       "not paid back.",
    "remote.md": "# Remote work\n\nEmployees may work from home up to three days a week after agreeing a schedule "
                 "with their manager. A home office allowance of 300 euros is paid once.",
    "parking.md": "# Parking\n\nStaff parking is in the basement garage. A monthly parking permit costs twenty "
                  "euros and is requested from the facilities team.",
    "expenses.md": "# Expense claims\n\nSubmit expense claims with the receipts within thirty days. Claims above "
                   "500 euros need the approval of a department head.",
    "backup.md": "# Backups\n\nServers are backed up every night and backups are kept for ninety days. A restore "
                 "can be requested through the IT helpdesk.",
    "coffee.md": "# Coffee machine\n\nThe coffee machine on the second floor is descaled every Monday. Report "
                 "faults to the office manager.",
    "快递.md": "# 配送说明\n\n订单在付款后四十八小时内发货，默认使用顺丰快递，偏远地区需要额外三到五天。",
    "会员.md": "# 会员等级\n\n累计消费满五千元升级为金卡会员，金卡会员享受九五折优惠和生日礼券。",
    "门禁.md": "# 门禁卡\n\n新员工入职当天到前台领取门禁卡。门禁卡丢失需要立即挂失，补办费用为五十元。",
    "培训.md": "# 培训制度\n\n每位员工每年至少参加四十小时的培训，培训记录会纳入年度绩效考核。",
    "保修.md": "# 保修政策\n\n本店所有电子产品享受一年免费保修，人为损坏和进水不在保修范围内。",
}

QUESTIONS: list[tuple[str, set[str]]] = [
    ("How do I get a refund for a product I bought?", {"refund.md", "退货.md"}),
    ("How many days do customers have to return an item?", {"refund.md", "退货.md"}),
    ("Can gift cards be refunded?", {"refund.md"}),
    ("Is a cracked laptop screen covered?", {"warranty.md"}),
    ("How long is the warranty on laptops?", {"warranty.md"}),
    ("How much does the team plan cost?", {"pricing.md"}),
    ("Is there a discount for paying yearly?", {"pricing.md"}),
    ("When will my order be shipped?", {"shipping.md"}),
    ("How much is express delivery?", {"shipping.md"}),
    ("How often must passwords be changed?", {"security.txt"}),
    ("What should I do when I lose my laptop?", {"security.txt"}),
    ("How much sunlight do tomatoes need?", {"garden.html"}),
    ("Can I fly business class to Berlin?", {"travel.md"}),
    ("What is the hotel limit per night on business trips?", {"travel.md"}),
    ("What happens in my first week as a new employee?", {"onboarding.md"}),
    ("Where is my personal data stored?", {"privacy.md"}),
    ("When can I reach customer support?", {"support.md"}),
    ("How many days of paid vacation do employees get?", {"年假制度.md"}),
    ("员工每年有多少天带薪年假？", {"年假制度.md"}),
    ("年假没休完可以留到明年吗？", {"年假制度.md"}),
    ("请病假需要医院证明吗？", {"病假.md"}),
    ("食堂几点开门？", {"食堂.txt"}),
    ("食堂有素食吗？", {"食堂.txt"}),
    ("出差回来多久之内要报销？", {"报销.md"}),
    ("超过五千元的报销谁来审批？", {"报销.md"}),
    ("买的东西不想要了可以退吗？", {"退货.md", "refund.md"}),
    ("退款多久能到账？", {"退货.md", "refund.md"}),
    ("怎么预订会议室？", {"会议室.md"}),
    ("周末加班有加班费吗？", {"加班.md"}),
    ("密码多久需要更换一次？", {"security.txt"}),
    ("笔记本电脑的保修期是多久？", {"warranty.md"}),
    ("团队版每个月多少钱？", {"pricing.md"}),
    ("refund policy", {"refund.md", "退货.md"}),
    ("What is your return policy?", {"refund.md", "退货.md"}),
    ("Do I get my money back when I cancel my subscription?", {"subscription.md"}),
    ("How do I cancel my plan?", {"subscription.md"}),
    ("warranty", {"warranty.md", "保修.md"}),
    ("Does the warranty cover water damage?", {"warranty.md", "保修.md"}),
    ("How many days can I work from home?", {"remote.md"}),
    ("Is there a budget for a home office?", {"remote.md"}),
    ("How much is a parking permit?", {"parking.md"}),
    ("Where can employees park their cars?", {"parking.md"}),
    ("Who approves an expense claim of 800 euros?", {"expenses.md"}),
    ("How long do I have to submit receipts?", {"expenses.md", "报销.md"}),
    ("How long are backups kept?", {"backup.md"}),
    ("Can I restore a deleted file from backup?", {"backup.md"}),
    ("The coffee machine is broken, who do I tell?", {"coffee.md"}),
    ("shipping time", {"shipping.md", "快递.md"}),
    ("Which courier do you use for deliveries?", {"快递.md"}),
    ("How do I become a gold member?", {"会员.md"}),
    ("What is the opening time of the canteen?", {"食堂.txt"}),
    ("多久发货？", {"快递.md", "shipping.md"}),
    ("偏远地区配送要多久？", {"快递.md"}),
    ("金卡会员有什么优惠？", {"会员.md"}),
    ("门禁卡丢了怎么办？", {"门禁.md"}),
    ("新员工在哪里领门禁卡？", {"门禁.md"}),
    ("每年要参加多少小时培训？", {"培训.md"}),
    ("手机进水可以保修吗？", {"保修.md", "warranty.md"}),
    ("保修期多长？", {"保修.md", "warranty.md"}),
    ("退货政策", {"退货.md", "refund.md"}),
    ("工作日加班工资怎么算？", {"加班.md"}),
    ("会议室最多可以订多久？", {"会议室.md"}),
    ("病假一年有几天？", {"病假.md"}),
    ("可以在家办公吗？", {"remote.md"}),
    ("停车证多少钱？", {"parking.md"}),
    ("服务器备份保留多久？", {"backup.md"}),
]
