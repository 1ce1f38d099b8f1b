"""A public demo's guard rails (core/visitors.py), enforced by the services whatever the face."""

from __future__ import annotations

import pytest

from core.config import Settings
from core.container import build_services
from core.errors import Forbidden, InvalidInput, RateLimited, TooLarge
from core.visitors import VisitorPolicy, current_visitor, visiting


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def demo(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64", demo=True,
                        demo_max_upload_mb=1, demo_max_files=2, demo_uploads_per_hour=3, demo_questions_per_hour=2)
    services = build_services(settings)
    yield services
    services.close()


def test_hourly_budget_per_address_refills_after_an_hour():
    clock = Clock()
    policy = VisitorPolicy(Settings(demo=True, demo_questions_per_hour=2), clock=clock)
    with visiting("10.0.0.1"):
        policy.check_question()
        clock.now += 1800
        policy.check_question()
        with pytest.raises(RateLimited, match=r"2 questions per hour .* try again in 30 min"):
            policy.check_question()
    with visiting("10.0.0.2"):  # another address has its own budget
        policy.check_question()
    clock.now += 1801  # the first question is more than an hour old
    with visiting("10.0.0.1"):
        policy.check_question()
        with pytest.raises(RateLimited):
            policy.check_question()


def test_the_operator_and_a_site_without_demo_mode_are_never_limited():
    demo_policy = VisitorPolicy(Settings(demo=True, demo_questions_per_hour=0))
    assert current_visitor() is None
    demo_policy.check_question()  # the command line, seeding, tests: no visitor
    demo_policy.check_settings_change("Model settings")
    plain = VisitorPolicy(Settings(demo=False, demo_questions_per_hour=0))
    with visiting("10.0.0.1"):
        plain.check_question()
        plain.check_upload([("big.txt", b"x" * 10_000_000)] * 20)
        assert not plain.settings_read_only()
    with visiting(None):
        assert current_visitor() == "unknown"  # an address nobody could tell is still a visitor


def test_uploads_limited_in_size_count_and_per_hour(demo, tenant):
    kb = demo.knowledge.create(tenant, "visitor kb")
    with visiting("10.0.0.1"):
        with pytest.raises(InvalidInput, match="at most 2 files per upload"):
            demo.documents.upload(tenant, kb.id, [(f"{i}.txt", b"hello") for i in range(3)])
        with pytest.raises(TooLarge, match="up to 1 MB"):
            demo.documents.upload(tenant, kb.id, [("big.txt", b"x" * (1024 * 1024 + 1))])
        assert demo.documents.list(tenant, kb.id).total == 0  # refused uploads change nothing
        demo.documents.upload(tenant, kb.id, [("a.txt", b"alpha"), ("b.txt", b"beta")])
        with pytest.raises(RateLimited, match="3 files uploaded per hour"):
            demo.documents.upload(tenant, kb.id, [("c.txt", b"gamma"), ("d.txt", b"delta")])
        demo.documents.upload(tenant, kb.id, [("c.txt", b"gamma")])
    assert demo.documents.list(tenant, kb.id).total == 3
    demo.documents.upload(tenant, kb.id, [(f"op{i}.txt", b"operator") for i in range(5)])  # no visitor: no limit


def test_questions_limited_per_hour_and_a_refused_one_is_not_saved(demo, tenant):
    kb = demo.knowledge.create(tenant, "handbook")
    conv = demo.chat.create_session(tenant, kb_ids=[kb.id])
    with visiting("10.0.0.1"):
        with pytest.raises(InvalidInput):
            demo.chat.answer(tenant, conv.id, "")  # bad input costs nothing
        for _ in range(2):
            list(demo.chat.answer(tenant, conv.id, "What is the refund window?"))
        with pytest.raises(RateLimited, match="2 questions per hour"):
            demo.chat.answer(tenant, conv.id, "And the exceptions?")
    questions = [m.content for m in demo.chat.list_messages(tenant, conv.id, limit=50) if m.role == "user"]
    assert questions == ["What is the refund window?"] * 2


def test_model_settings_are_read_only_for_visitors(demo, tenant):
    model = demo.models.create(tenant, type="llm", provider="mock", name="operator's", model="m")
    with visiting("10.0.0.1"):
        assert demo.visitors.settings_read_only()
        for attempt in (lambda: demo.models.create(tenant, type="llm", provider="mock", name="mine", model="m"),
                        lambda: demo.models.update(tenant, model.id, name="renamed"),
                        lambda: demo.models.set_default(tenant, model.id),
                        lambda: demo.models.delete(tenant, model.id),
                        lambda: demo.models.verify("llm", "openai", "gpt", "http://10.0.0.9/v1", "sk-x")):
            with pytest.raises(Forbidden, match="read-only in this demo"):
                attempt()
        assert [m.name for m in demo.models.list(tenant)] == ["operator's"]  # visitors may still look
        assert demo.models.check(tenant, model.id).status == "ok"  # and check the operator's model


def test_visitors_cannot_add_mcp_servers_that_run_commands(demo, tenant):
    with visiting("10.0.0.1"), pytest.raises(Forbidden, match="not available in this demo"):
        demo.tools.create_mcp_server(tenant, "shell", transport="stdio", command="sh", args=["-c", "id"])
