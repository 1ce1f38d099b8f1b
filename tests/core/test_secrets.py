"""Secrets at rest: sealed provider keys and tool headers, plain rows from before sealed at start-up,
owner-only data files, and credentials redacted from log lines."""

from __future__ import annotations

import logging
import sqlite3
import stat

import pytest

from core.config import Settings
from core.container import build_services
from core.secrets import SEALED, Sealer, UnreadableSecret, install_log_redaction, redact

KEY = "sk-live-0123456789abcdefSECRET"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def raw_db(settings: Settings) -> bytes:
    """The database's bytes on disk, WAL included (where fresh writes live until a checkpoint)."""
    data = settings.resolved_data_dir
    return b"".join(p.read_bytes() for p in (data / "almanac.db", data / "almanac.db-wal") if p.exists())


def test_sealed_fields(tmp_path):
    sealer = Sealer(Settings(data_dir=tmp_path / "data", secret_key="a test secret of enough length"))
    sealed = sealer.seal_field(KEY)
    assert sealed.startswith(SEALED) and KEY not in sealed and sealer.unseal_field(sealed) == KEY
    assert sealer.seal_field(KEY) != sealed  # a fresh IV each time
    assert sealer.seal_field(sealed) == sealed and sealer.seal_field("") == "" and sealer.unseal_field("") == ""
    assert sealer.unseal_field("plain text from before") == "plain text from before"
    other = Sealer(Settings(data_dir=tmp_path / "data", secret_key="another secret of enough length"))
    with pytest.raises(UnreadableSecret, match="secret key"):
        other.unseal_field(sealed)


def test_the_secret_comes_from_the_setting_or_an_owner_only_file(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    sealed = Sealer(settings).seal_field(KEY)
    secret_file = tmp_path / "data" / "secret_key"
    assert mode(secret_file) == 0o600 and mode(tmp_path / "data") == 0o700
    assert Sealer(settings).unseal_field(sealed) == KEY  # the same key on the next start
    with_env = Settings(data_dir=tmp_path / "data", secret_key="from the environment, long enough")
    with pytest.raises(UnreadableSecret):
        Sealer(with_env).unseal_field(sealed)


def test_model_keys_are_stored_sealed_and_used_in_plain(svc, settings, tenant):
    model = svc.models.create(tenant, type="llm", provider="openai", name="gpt", model="gpt-4o-mini",
                              base_url="http://localhost:9/v1", api_key=KEY)
    assert model.api_key_masked == "sk-…CRET" and model.has_api_key
    assert svc.models.llm_spec(tenant, model.id).api_key == KEY
    with svc.db.session() as s:
        stored = s.connection().exec_driver_sql("SELECT api_key FROM model_configs").scalar()
    assert stored.startswith(SEALED) and KEY.encode() not in raw_db(settings)
    svc.models.update(tenant, model.id, api_key="sk-another-key-0000000000")
    assert svc.models.llm_spec(tenant, model.id).api_key == "sk-another-key-0000000000"


def test_plain_rows_from_before_are_sealed_at_start(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", ingest_workers=0, embedding_model="mock:words-64")
    svc = build_services(settings)
    model = svc.models.create("default", type="llm", provider="openai", name="gpt", model="m",
                              base_url="http://localhost:9/v1")
    schema = ('{"server": "https://d.example", "paths": {"/w": {"get": {"operationId": "word", '
              '"description": "Look up", "parameters": []}}}}')
    tool = svc.tools.create_api_provider("default", "Dict", "", schema,
                                         [{"key": "Authorization", "value": f"Bearer {KEY}"}])
    svc.close()
    with sqlite3.connect(settings.resolved_data_dir / "almanac.db") as con:  # as an older version stored them
        con.execute("UPDATE model_configs SET api_key = ?", (KEY,))
        con.execute("UPDATE tool_providers SET headers = ?", (f'[{{"key": "Authorization", "value": "Bearer {KEY}"}}]',))
    svc = build_services(settings)
    try:
        with sqlite3.connect(settings.resolved_data_dir / "almanac.db") as con:
            api_key = con.execute("SELECT api_key FROM model_configs").fetchone()[0]
            headers = con.execute("SELECT headers FROM tool_providers").fetchone()[0]
        assert api_key.startswith(SEALED) and SEALED in headers and KEY not in headers
        assert svc.models.llm_spec("default", model.id).api_key == KEY
        shown = svc.tools.get_provider("default", tool.id).headers
        assert shown == [{"key": "Authorization", "value": "Bearer sk-l…CRET"}]
    finally:
        svc.close()


def test_mcp_env_values_are_sealed(svc, tenant):
    from core.tools.registry import stored_config

    with svc.db.session() as s:
        from storage.orm import ToolProvider

        s.add(ToolProvider(tenant_id=tenant, kind="mcp", name="local", config={
            "transport": "stdio", "command": "server", "args": [], "url": "", "env": {"GITHUB_TOKEN": KEY}}))
    assert svc.tools.seal_stored_secrets() == 1
    with svc.db.session() as s:
        row = s.query(ToolProvider).one()
        assert row.config["env"]["GITHUB_TOKEN"].startswith(SEALED)
        assert stored_config(row, svc.tools.sealer)["env"] == {"GITHUB_TOKEN": KEY}
    assert svc.tools.seal_stored_secrets() == 0  # nothing left in plain text


def test_data_files_are_owner_only(svc, settings, tenant):
    kb = svc.knowledge.create(tenant, "Private")
    (doc,) = svc.documents.upload(tenant, kb.id, [("a.txt", b"owner only")], parse=False)
    svc.vectors.client.heartbeat()
    data = settings.resolved_data_dir
    assert mode(data) == 0o700 and mode(data / "almanac.db") == 0o600
    assert all(mode(p) == 0o600 for p in data.glob("almanac.db-*"))
    assert mode(settings.files_dir) == 0o700 and mode(settings.chroma_dir) == 0o700
    blob = next(p for p in settings.files_dir.rglob("*") if p.is_file())
    assert mode(blob) == 0o600 and mode(blob.parent) == 0o700


def test_existing_world_readable_files_are_tightened_at_start(tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    (data / "almanac.db").touch(mode=0o644)
    svc = build_services(Settings(data_dir=data, ingest_workers=0, embedding_model="mock:words-64"))
    svc.close()
    assert mode(data) == 0o700 and mode(data / "almanac.db") == 0o600


@pytest.mark.parametrize("line, shown", [
    ("GET /api/voice/stt/ws?api_key=almanac-abc123&language=en", "GET /api/voice/stt/ws?api_key=***&language=en"),
    ("/chat/7f3a?token=s3cret", "/chat/7f3a?token=***"),
    ("/x?access_token=a.b.c&page=2", "/x?access_token=***&page=2"),
    ("headers x-api-key=k1; path=/", "headers x-api-key=***; path=/"),
    ("monkey=3 and keys are fine", "monkey=*** and keys are fine"),  # erring on the safe side
    ("no credentials here", "no credentials here"),
])
def test_redact(line, shown):
    assert redact(line) == shown


def test_every_log_record_is_redacted_including_uvicorns_access_log(caplog):
    install_log_redaction()
    from uvicorn.logging import AccessFormatter

    caplog.set_level(logging.INFO)
    access = logging.getLogger("uvicorn.access")
    access.propagate = True
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/api/v1/datasets?api_key=almanac-xyz", "1.1",
                    200)
        logging.getLogger("almanac.test").warning("calling %s", "https://h.example/v1?token=abc&x=1")
    finally:
        access.propagate = False
    records = caplog.records[-2:]
    text = "\n".join(AccessFormatter("%(client_addr)s %(request_line)s %(status_code)s").format(r)
                     if r.name == "uvicorn.access" else r.getMessage() for r in records)
    assert "almanac-xyz" not in text and "abc" not in text
    assert "/api/v1/datasets?api_key=*** HTTP/1.1 200" in text and "token=***&x=1" in text
