"""Agents page: create, pick tools and knowledge bases, save the draft, publish, share, the debug chat (no model,
a real tool call through the mock OpenAI server, memory, deleting messages), published agents on the Chat page."""

from __future__ import annotations

import pytest

from core.prompting import NOTHING_TO_QUOTE
from tests.mock_llm import Reply
from tests.ui.conftest import open_page

PAGE = "pages/agents.py"



@pytest.fixture
def llm(ui, tenant, mock_llm):
    ui.models.create(tenant, type="llm", provider="openai", name="mock", model="mock-model",
                     base_url=mock_llm.base_url, params={"timeout": 5, "max_retries": 0}, is_default=True)
    return mock_llm


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def text(at) -> str:
    parts = [m.value for m in at.markdown] + [str(c.value) for c in at.caption]
    parts += [x.value for x in [*at.info, *at.warning, *at.success, *at.error]]
    return "\n".join(parts)


def warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def k(a, name: str) -> str:
    return f"agf_{a.id}_{name}"


def tool_box(a, provider: str, tool: str, param: str = "") -> str:
    return f"agf_{a.id}_tool_builtin_{provider}_{tool}" + (f"_{param}" if param else "")


def save(at, a):
    return ok(at.button(key=f"agent_save_{a.id}").click().run())


def memory_boxes(at, conv) -> list:
    return [x for x in at.text_area if str(x.key).startswith(f"agd_memory_{conv.id}")]


def ask_debug(at, a, question: str):
    at.chat_input(key=f"agd_input_{a.id}").set_value(question).run()
    return ok(at)


def test_create_opens_the_editor(ui, tenant):
    at = open_page(PAGE)
    assert "No agents yet" in text(at)
    ok(at.button(key="agent_new").click().run())
    at.text_input(key="agent_new_name").input("")
    ok(at.button(key="FormSubmitter:agent_create-Create agent").click().run())
    assert "Give the agent a name" in text(at) and ui.assistants.list(tenant, kind="agent").total == 0
    at.text_input(key="agent_new_name").input("Travel planner")
    at.text_input(key="agent_new_description").input("Plans trips")
    ok(at.button(key="FormSubmitter:agent_create-Create agent").click().run())
    [a] = ui.assistants.list(tenant, kind="agent").items
    assert (a.name, a.description, a.published) == ("Travel planner", "Plans trips", None)
    assert at.query_params["agent"] in (a.id, [a.id])
    assert at.text_input(key=k(a, "name")).value == "Travel planner"
    assert "Not published yet" in text(at)


def test_pick_tools_with_settings_and_a_kb_then_save(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    a = ui.assistants.create(tenant, "Planner", kind="agent")
    at = open_page(PAGE, agent=a.id)
    assert "No tools chosen" in text(at)
    at.multiselect(key=k(a, "kbs")).select(kb.id)
    at.checkbox(key=tool_box(a, "calculator", "calculator")).check()
    at.checkbox(key=tool_box(a, "time", "current_time")).check()
    ok(at.run())
    # a ticked tool shows its settings as widgets of the right kind; the line above lists the choice
    assert at.text_input(key=tool_box(a, "time", "current_time", "timezone")).value == "UTC"
    assert "🔧 Calculator" in text(at) and "🔧 Current time" in text(at)
    assert "Unsaved changes" in text(at)
    at.text_input(key=tool_box(a, "time", "current_time", "timezone")).input("Europe/Paris")
    at.checkbox(key=tool_box(a, "images", "image_generation")).check()
    ok(at.run())
    assert at.selectbox(key=tool_box(a, "images", "image_generation", "size")).options == [
        "Square 1024×1024", "Landscape 1792×1024", "Portrait 1024×1792"]
    at.selectbox(key=tool_box(a, "images", "image_generation", "size")).set_value("1792x1024")
    at.checkbox(key=tool_box(a, "knowledge", "kb_search")).check()
    ok(at.run())
    at.number_input(key=tool_box(a, "knowledge", "kb_search", "top_n")).set_value(8)
    at.text_area(key=k(a, "system")).input("You plan trips. Use the calculator for budgets.")
    at.radio(key=k(a, "memory")).set_value("long_term_memory")
    at.number_input(key=k(a, "max_steps")).set_value(4)
    at.radio(key=k(a, "tool_mode")).set_value("react")
    save(at, a)
    got = ui.assistants.get(tenant, a.id)
    assert got.kb_ids == [kb.id]
    by_tool = {r["tool"]: r for r in got.tools}
    assert set(by_tool) == {"calculator", "current_time", "image_generation", "kb_search"}
    assert by_tool["current_time"]["params"] == {"timezone": "Europe/Paris"}
    assert by_tool["image_generation"]["params"] == {"size": "1792x1024", "style": "vivid"}
    assert by_tool["kb_search"]["params"]["top_n"] == 8
    assert got.prompt.system.startswith("You plan trips")
    s = got.strategy
    assert (s.memory_mode, s.max_steps, s.tool_mode) == ("long_term_memory", 4, "react")
    assert "Unsaved changes" not in text(at) and "Draft of “Planner” saved" in [x.value for x in at.toast]
    # a tool that needs a key says so where it is picked
    assert "ALMANAC_SERPER_API_KEY" in warnings(at)


def test_saving_reports_problems_and_changes_nothing(ui, tenant):
    ui.assistants.create(tenant, "Taken", kind="agent")
    a = ui.assistants.create(tenant, "Planner", kind="agent")
    at = open_page(PAGE, agent=a.id)
    at.text_input(key=k(a, "name")).input(" ")
    at.text_area(key=k(a, "system")).input("  ")
    save(at, a)
    errors = " ".join(e.value for e in at.error)
    assert "Give the agent a name" in errors and "instructions must not be empty" in errors
    at.text_input(key=k(a, "name")).input("taken")
    at.text_area(key=k(a, "system")).input("Be helpful.")
    save(at, a)
    assert "already exists" in " ".join(e.value for e in at.error)
    assert ui.assistants.get(tenant, a.id).name == "Planner"


def test_publish_then_draft_changed_notice(ui, tenant):
    a = ui.assistants.create(tenant, "Planner", kind="agent")
    at = open_page(PAGE, agent=a.id)
    assert "Not published" in text(at)
    ok(at.button(key=f"agent_publish_{a.id}").click().run())
    got = ui.assistants.get(tenant, a.id)
    assert got.published is not None and not got.draft_changed
    assert "The live version matches the draft" in text(at) and ":green-badge[● Published]" in text(at)
    # an edit is first unsaved, then a draft that differs from what is published
    at.checkbox(key=tool_box(a, "calculator", "calculator")).check()
    ok(at.run())
    assert "Unsaved changes" in text(at) and at.button(key=f"agent_publish_{a.id}").label == "Save & publish"
    assert "unsaved changes: save the draft to try them here" in warnings(at)
    save(at, a)
    assert ui.assistants.get(tenant, a.id).draft_changed
    assert "The draft differs from the published version" in warnings(at) and "Draft changes" in text(at)
    assert ui.assistants.get(tenant, a.id).published["tools"] == []
    ok(at.button(key=f"agent_publish_{a.id}").click().run())
    got = ui.assistants.get(tenant, a.id)
    assert not got.draft_changed and [r["tool"] for r in got.published["tools"]] == ["calculator"]
    # Save & publish in one click
    at.text_input(key=k(a, "description")).input("Budgets trips")
    ok(at.run())
    ok(at.button(key=f"agent_publish_{a.id}").click().run())
    got = ui.assistants.get(tenant, a.id)
    assert got.description == "Budgets trips" and not got.draft_changed


def test_share_link_and_access_token(ui, tenant):
    a = ui.assistants.publish(tenant, ui.assistants.create(tenant, "Planner", kind="agent").id)
    at = open_page(PAGE, agent=a.id)
    assert not at.code and "Private: only this workspace can use it" in text(at)  # private until shared
    ok(at.toggle(key=f"share_shared_{a.id}").set_value(True).run())
    assert ui.assistants.get(tenant, a.id).shared and "Shared" in text(at)
    assert [c.value for c in at.code] == [f"/chat/{a.id}"]
    ok(at.toggle(key=f"share_token_{a.id}").set_value(True).run())
    token = ui.assistants.get(tenant, a.id).access_token
    assert token and [c.value for c in at.code] == [f"/chat/{a.id}?token={token}"]
    ok(at.toggle(key=f"share_token_{a.id}").set_value(False).run())
    assert ui.assistants.get(tenant, a.id).access_token == "" and [c.value for c in at.code] == [f"/chat/{a.id}"]
    ok(at.button(key=f"agent_unpublish_{a.id}").click().run())
    assert ui.assistants.get(tenant, a.id).published is None
    assert "The link works once the agent is published" in text(at)
    ok(at.toggle(key=f"share_shared_{a.id}").set_value(False).run())
    assert not ui.assistants.get(tenant, a.id).shared and not at.code


def test_without_a_model_the_admin_is_told_and_the_agent_answers_retrieval_only(ui, tenant):
    a = ui.assistants.create(tenant, "Planner", kind="agent", prompt={"opener": "Where to?"})
    at = open_page(PAGE)  # the list: a banner, and the agent's card says how it answers
    assert "agents answer by quoting their knowledge bases" in warnings(at)
    assert "No model: quotes its knowledge bases" in " ".join(m.value for m in at.markdown)
    at = open_page(PAGE, agent=a.id)
    assert "No language model is configured" in warnings(at)
    assert any(p.proto.label == "Set up a model" for p in at.get("page_link"))
    ask_debug(at, a, "What is 2+2?")
    bubbles = [(c.name, c) for c in at.chat_message]
    assert [n for n, _ in bubbles] == ["assistant", "user", "assistant"]
    answer = bubbles[-1][1]
    assert NOTHING_TO_QUOTE in " ".join(m.value for m in answer.markdown)  # no instructions for a visitor
    assert "Retrieval only" in " ".join(m.value for m in answer.markdown)
    conv = ui.chat.debug_session(tenant, a.id)
    assert conv.channel == "debug" and ui.chat.list_messages(tenant, conv.id)[-1].mode == "retrieval_only"


def test_debug_chat_runs_the_draft_and_shows_the_tool_steps(ui, tenant, llm):
    a = ui.assistants.create(tenant, "Planner", kind="agent",
                             tools=[{"type": "builtin", "provider": "calculator", "tool": "calculator"}])
    llm.script([Reply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "(3+4)*2"}}]),
                Reply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "14/0"}}]),
                Reply(text="The budget is 14 euros.")])
    at = open_page(PAGE, agent=a.id)
    assert "No language model" not in warnings(at)
    ask_debug(at, a, "What is (3+4)*2?")
    answer = at.chat_message[-1]
    assert "The budget is 14 euros." in [m.value for m in answer.markdown]
    first, second = answer.expander  # collapsed, one per step, in order; ids repeat but results do not mix
    assert first.label.startswith("🔧 **calculator** `(3+4)*2`")
    assert second.label.startswith("⚠️ **calculator** `14/0`")
    assert [c.value for c in first.code] == ['{\n  "expression": "(3+4)*2"\n}', "14"]
    assert "Cannot calculate" in second.code[-1].value
    # the model was offered the draft's tool and got the tool's result back
    calls = llm.chat_requests
    assert calls[0]["body"]["tools"][0]["function"]["name"] == "calculator"
    assert calls[1]["body"]["messages"][-1] == {"role": "tool", "tool_call_id": calls[1]["body"]["messages"][-2][
        "tool_calls"][0]["id"], "content": "14"}


def test_debug_session_delete_message_and_restart(ui, tenant):
    a = ui.assistants.create(tenant, "Planner", kind="agent", prompt={"opener": "Where to?"})
    at = open_page(PAGE, agent=a.id)
    ask_debug(at, a, "First question")
    conv = ui.chat.debug_session(tenant, a.id)
    question = next(m for m in ui.chat.list_messages(tenant, conv.id) if m.role == "user")
    ok(at.button(key=f"chat_msg_delete_{question.id}").click().run())
    assert [m.role for m in ui.chat.list_messages(tenant, conv.id)] == ["assistant", "assistant"]
    assert "First question" not in "\n".join(m.value for c in at.chat_message for m in c.markdown)
    ok(at.button(key=f"agd_new_{a.id}").click().run())
    fresh = ui.chat.debug_session(tenant, a.id)
    assert fresh.id != conv.id and [m.mode for m in ui.chat.list_messages(tenant, fresh.id)] == ["opener"]
    assert len(at.chat_message) == 1


def test_long_term_memory_is_shown_and_editable(ui, tenant):
    a = ui.assistants.create(tenant, "Planner", kind="agent", strategy={"memory_mode": "long_term_memory"})
    conv = ui.chat.debug_session(tenant, a.id)
    ui.chat.set_memory(tenant, conv.id, "The user likes trains.")
    at = open_page(PAGE, agent=a.id)
    [box] = memory_boxes(at, conv)
    assert box.value == "The user likes trains."
    box.input("The user likes trains and hates flying.")
    ok(at.button(key=f"agd_memory_save_{conv.id}").click().run())
    assert ui.chat.get_session(tenant, conv.id).summary == "The user likes trains and hates flying."
    assert [b.value for b in memory_boxes(at, conv)] == ["The user likes trains and hates flying."]
    # memory off: no memory box
    ui.assistants.update(tenant, a.id, strategy={"memory_mode": "none"})
    at = open_page(PAGE, agent=a.id)
    assert not memory_boxes(at, conv)


def test_memory_box_shows_what_an_answer_remembered(ui, tenant, llm):
    a = ui.assistants.create(tenant, "Planner", kind="agent", strategy={"memory_mode": "long_term_memory"})
    llm.script([Reply(text="Nice to meet you, Ada."), Reply(text="- The user's name is Ada.")])
    at = open_page(PAGE, agent=a.id)
    conv = ui.chat.debug_session(tenant, a.id)
    assert [b.value for b in memory_boxes(at, conv)] == [""]
    ask_debug(at, a, "I am Ada.")
    assert [b.value for b in memory_boxes(at, conv)] == ["- The user's name is Ada."]


def test_a_deleted_tool_provider_is_flagged_and_dropped_on_save(ui, tenant):
    schema = ('{"description": "Weather", "server": "https://weather.example.com", "paths": {"/w": {"get": '
              '{"description": "Weather of a city", "operationId": "GetWeather", "parameters": []}}}}')
    p = ui.tools.create_api_provider(tenant, "Weather", openapi_schema=schema)
    a = ui.assistants.create(tenant, "Planner", kind="agent",
                             tools=[{"type": "api", "provider": p.id, "tool": "GetWeather"}])
    at = open_page(PAGE, agent=a.id)
    assert at.checkbox(key=f"agf_{a.id}_tool_api_{p.id}_GetWeather").value is True
    ui.tools.delete_provider(tenant, p.id)
    at = open_page(PAGE, agent=a.id)
    assert "No longer available" in warnings(at) and "GetWeather" in warnings(at)
    save(at, a)
    assert ui.assistants.get(tenant, a.id).tools == []


def test_list_cards_and_delete(ui, tenant):
    kb = ui.knowledge.create(tenant, "Handbook")
    a = ui.assistants.create(tenant, "Planner", kind="agent", kb_ids=[kb.id],
                             tools=[{"type": "builtin", "provider": "calculator", "tool": "calculator"}])
    ui.assistants.publish(tenant, a.id)
    ui.assistants.create(tenant, "Draft only", kind="agent")
    ui.assistants.create(tenant, "A chat assistant")  # not an agent: not listed
    at = open_page(PAGE)
    body = text(at)
    assert "#### 🤖 Planner" in body and "#### 🤖 Draft only" in body and "A chat assistant" not in body
    assert "● Published" in body and "Not published" in body and "📘 Handbook" in body and "🔧 Calculator" in body
    assert [p.proto.label for p in at.get("page_link") if p.proto.label == "Chat with it"] == ["Chat with it"]
    ok(at.button(key=f"agent_edit_{a.id}").click().run())
    ok(at.button(key=f"agent_delete_{a.id}").click().run())
    assert "Delete “Planner”?" in text(at) and ui.assistants.list(tenant, kind="agent").total == 2
    ok(at.button(key=f"agent_del_go_{a.id}").click().run())
    assert ui.assistants.list(tenant, kind="agent").total == 1 and "agent" not in at.query_params


def test_chat_page_offers_published_agents_and_shows_their_steps(ui, tenant, llm):
    draft = ui.assistants.create(tenant, "Unpublished", kind="agent")
    a = ui.assistants.create(tenant, "Planner", kind="agent", prompt={"opener": "Hello from Planner"},
                             tools=[{"type": "builtin", "provider": "calculator", "tool": "calculator"}])
    ui.assistants.publish(tenant, a.id)
    ui.chat.debug_session(tenant, a.id)  # a debug session is not listed with the agent's conversations
    llm.script([Reply(text="", tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}]),
                Reply(text="It is 42.")])
    at = open_page("pages/chat.py", assistant=a.id)
    options = at.selectbox(key="chat_assistant").options
    assert any("Planner" in o for o in options) and not any(draft.name in o for o in options)
    at.chat_input(key="chat_input").set_value("6 times 7?").run()
    ok(at)
    answer = at.chat_message[-1]
    assert "It is 42." in [m.value for m in answer.markdown]
    [step] = answer.expander
    assert "calculator" in step.label and [c.value for c in step.code][-1] == "42"
    sessions = ui.chat.list_sessions(tenant, assistant_id=a.id).items
    assert sorted(c.channel for c in sessions) == ["debug", "published"]


def test_chinese_labels(ui, tenant):
    a = ui.assistants.create(tenant, "规划助手", kind="agent")
    at = open_page(PAGE, lang="zh")
    assert at.title[0].value.endswith("智能体") and "未发布" in text(at)
    at = open_page(PAGE, lang="zh", agent=a.id)
    assert at.text_input(key=k(a, "name")).label == "名称" and "尚未配置语言模型" in warnings(at)


def test_the_workspace_agent_is_chosen_among_published_agents(ui, tenant):
    ui.assistants.create(tenant, "Draft only", kind="agent")
    live = ui.assistants.create(tenant, "Helper", kind="agent")
    ui.assistants.publish(tenant, live.id)
    at = open_page(PAGE)
    box = at.selectbox(key="agent_workspace")
    assert box.value == "" and box.options == ["Knowledge search over the workspace's knowledge bases (default)",
                                                 "🤖 Helper"]  # published agents only
    ok(box.set_value(live.id).run())
    assert ui.workspace.default_agent(tenant).id == live.id
    assert ok(open_page(PAGE)).selectbox(key="agent_workspace").value == live.id
    ok(at.selectbox(key="agent_workspace").set_value("").run())
    assert ui.workspace.default_agent(tenant) is None
