"""The schema: migrations, SQLite settings, and the keyword index the database keeps in step."""

import threading
from concurrent.futures import ThreadPoolExecutor

from alembic.script import ScriptDirectory
from sqlalchemy import event, text

from storage import keywords
from storage.db import MIGRATIONS_DIR, Database, migrate
from storage.orm import Chunk, Document, KnowledgeBase, Tenant


def fresh(tmp_path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    migrate(db.engine)
    return db


def test_migrations_are_idempotent_and_sqlite_uses_wal(tmp_path):
    db = fresh(tmp_path)
    migrate(db.engine)  # a second start changes nothing
    with db.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA foreign_keys")).scalar() == 1
        head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
        assert c.execute(text("SELECT version_num FROM alembic_version")).scalar() == head


def test_concurrent_requests_reuse_pooled_sqlite_connections(tmp_path):
    """Each connection opened runs the pragmas again: forty request threads at once must not open new ones
    every time (the pool kept 5 and closed the rest, so a loaded server spent its time connecting)."""
    db = fresh(tmp_path)
    opened = []
    event.listen(db.engine, "connect", lambda *_: opened.append(1))
    barrier = threading.Barrier(40)

    def request(_: int) -> None:
        with db.session() as s:
            s.execute(text("SELECT 1"))
            barrier.wait(timeout=30)  # forty connections in use at once

    for _ in range(3):
        with ThreadPoolExecutor(40) as pool:
            list(pool.map(request, range(40)))
    assert len(opened) <= 40  # the first round's connections served the next two


def test_keyword_index_follows_chunk_rows(tmp_path):
    db = fresh(tmp_path)
    with db.session() as s:
        for row in (Tenant(id="t", name="t", number=7),
                    KnowledgeBase(id="kb", tenant_id="t", name="kb", name_key="kb", embedding_model="mock:x"),
                    Document(id="d", tenant_id="t", kb_id="kb", name="d.txt")):
            s.add(row)
            s.flush()
        s.add(Chunk(id="c1", tenant_id="t", kb_id="kb", doc_id="d", position=0, content="x", content_hash="h",
                    search_text="apple banana"))
    with db.session() as s:
        assert [c for c, _ in keywords.search(s, ["kb"], ["banana"], 10)] == ["c1"]
        s.get(Chunk, "c1").search_text = "cherry"
    with db.session() as s:
        assert keywords.search(s, ["kb"], ["banana"], 10) == []
        assert [c for c, _ in keywords.search(s, ["kb"], ["cherry"], 10)] == ["c1"]
        assert keywords.document_frequencies(s, ["cherry", "nope"]) == (1, {"cherry": 1})
        s.get(Chunk, "c1").enabled = False
    with db.session() as s:
        assert keywords.search(s, ["kb"], ["cherry"], 10) == []  # disabled chunks never match
        s.delete(s.get(Document, "d"))  # cascades to the chunk, whose trigger cleans the index
    with db.session() as s:
        assert s.execute(text("SELECT count(*) FROM chunk_fts")).scalar() == 0
        assert s.execute(text("SELECT count(*) FROM chunk_fts_rowids")).scalar() == 0


def test_query_syntax_is_not_injectable(tmp_path):
    db = fresh(tmp_path)
    with db.session() as s:
        assert keywords.search(s, ["kb"], ['"', "OR", "NEAR(", "*", "'; DROP TABLE chunks; --"], 10) == []


def test_the_orm_matches_the_migrated_schema(tmp_path):
    """A column added to storage/orm.py without a migration (or the reverse) fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.orm import Base

    db = fresh(tmp_path)
    with db.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    # The keyword index's FTS5 tables are made by raw SQL in a migration, not by the ORM.
    assert [d for d in diff if not (d[0] == "remove_table" and d[1].name.startswith("chunk_fts"))] == []


def test_existing_conversations_and_messages_are_numbered_and_new_ones_continue(tmp_path):
    """0010_nexent numbers the rows already there in creation order; new rows take the counter's next number."""
    from alembic import command
    from alembic.config import Config

    from storage.orm import Conversation, Message

    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0010_nexent-1")  # the revision before this one
        conn.execute(text("INSERT INTO tenants (id, number, name, description, created_at, updated_at) "
                          "VALUES ('t', 1, 't', '', '2024-01-01', '2024-01-01')"))
        for cid, at in (("c2", "2024-01-03"), ("c1", "2024-01-02")):
            conn.execute(text("INSERT INTO conversations (id, tenant_id, kb_ids, title, channel, summary, settings, "
                              "extra, created_at, updated_at) VALUES (:id, 't', '[]', '', 'published', '', '{}', "
                              "'{}', :at, :at)"), {"id": cid, "at": at})
            conn.execute(text("INSERT INTO messages (id, tenant_id, conversation_id, role, content, \"references\", "
                              "mode, prompt_tokens, completion_tokens, latency_ms, completed, error, feedback, trace, "
                              "created_at) VALUES (:id, 't', :c, 'user', 'hi', '[]', '', 0, 0, 0, 1, '', 0, '[]', "
                              ":at)"), {"id": "m" + cid, "c": cid, "at": at})
    migrate(db.engine)
    with db.session() as s:
        assert [c.id for c in s.query(Conversation).order_by(Conversation.number)] == ["c1", "c2"]
        assert sorted(m.number for m in s.query(Message)) == [1, 2]
        s.add(Conversation(id="c3", tenant_id="t", title=""))
    with db.session() as s:
        assert s.get(Conversation, "c3").number == 3
        s.delete(s.get(Conversation, "c3"))
    with db.session() as s:
        s.add(Conversation(id="c4", tenant_id="t", title=""))
    with db.session() as s:
        assert s.get(Conversation, "c4").number == 4  # a deleted conversation's number is never given again
