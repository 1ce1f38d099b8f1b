"""A small bilingual corpus: English questions answered only in Chinese passages, and the reverse.

One passage per document. The questions use phrases the mock model translates (core/providers/llm.py
MOCK_PHRASES), so with the mock translating each is found; without, the mock embedder (hashed words) and the
keyword index cannot cross the language line.
"""

from __future__ import annotations

PASSAGES = {
    "退款规则.txt": "退款申请的有效期为 180 天，超过有效期的订单无法在线退款。",
    "子账号.txt": "每个租户最多可以创建 20 个子账号，企业版不设上限。",
    "文件保留.txt": "通过接口上传的文件保留 7 天，未被引用的文件之后自动删除。",
    "订单关闭.txt": "订单创建后 30 分钟内未支付将被自动关闭。",
    "短信审核.txt": "短信模板需要审核，一般需要 1 到 2 个工作日。",
    "审计.txt": "平台记录所有登录和权限变更，保留 180 天。",
    "tokens.txt": "An access token expires after two hours; ask for a new one with the refresh token.",
    "webhooks.txt": "A failed webhook delivery is retried up to 8 times with exponential backoff.",
    "exports.txt": "Each workspace may export its data 20 times per day; further exports wait until midnight.",
    "keys.txt": "API keys should be rotated every 90 days by the workspace owner.",
    "paging.txt": "List endpoints return at most 200 items per page; pass the cursor for the next page.",
    "limits.txt": "The Standard plan allows 600 calls per minute and a burst of 100 in one second.",
}

# question -> the document that answers it (in the other language)
CROSS_QUESTIONS = {
    "How many days is a refund valid?": "退款规则.txt",
    "How many sub-accounts can a tenant create?": "子账号.txt",
    "How long is an uploaded file kept?": "文件保留.txt",
    "访问令牌多久过期？": "tokens.txt",
    "回调失败后会重试几次？": "webhooks.txt",
    "每天最多可以导出几次？": "exports.txt",
}

GLOSSARY = [("退款", "refund"), ("有效期", "valid"), ("租户", "tenant"), ("子账号", "sub-account"),
            ("上传", "upload"), ("文件", "file"), ("访问令牌", "access token"), ("过期", "expire"),
            ("回调", "webhook"), ("重试", "retry"), ("导出", "export"), ("每天", "per day")]


def files() -> list[tuple[str, bytes]]:
    return [(name, text.encode("utf-8")) for name, text in PASSAGES.items()]
