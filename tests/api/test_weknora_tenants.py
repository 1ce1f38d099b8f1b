"""WeKnora tenants: the spec's requests and fields, who may administer whom, deletion of everything a tenant
owns, and keys that can be shown again without being stored in plain text."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from storage.orm import ApiKey, Base
from tests.helpers import RFC3339
from tests.helpers import weknora_data as data
from tests.helpers import weknora_error as error

TENANT_FIELDS = {"id", "name", "description", "api_key", "created_at", "updated_at"}


def as_key(client: TestClient, key: str) -> TestClient:
    return TestClient(client.app, headers={"X-API-Key": key})


def test_create_get_update_list_delete(weknora, svc):
    created = data(weknora.post("/api/v1/tenants", json={"name": "租户名称", "description": "租户描述"}), 201)
    assert set(created) >= TENANT_FIELDS and isinstance(created["id"], int) and created["id"] > 1
    assert (created["name"], created["description"]) == ("租户名称", "租户描述")
    assert re.match(RFC3339, created["created_at"]) and re.match(RFC3339, created["updated_at"])
    tenant = as_key(weknora, created["api_key"])
    assert data(tenant.get("/api/v1/knowledge-bases")) == []  # the new key works, on an empty workspace
    assert data(weknora.get(f"/api/v1/tenants/{created['id']}")) == created  # the key is shown again

    updated = data(weknora.put(f"/api/v1/tenants/{created['id']}",
                               json={"name": "新租户名称", "description": "新租户描述"}))
    assert (updated["id"], updated["name"], updated["description"], updated["api_key"]) == \
        (created["id"], "新租户名称", "新租户描述", created["api_key"])
    assert data(weknora.get(f"/api/v1/tenants/{created['id']}"))["name"] == "新租户名称"

    items = data(weknora.get("/api/v1/tenants"))["items"]
    assert [t["id"] for t in items] == [1, created["id"]] and items[0]["api_key"] == svc.admin_api_key
    assert all(set(t) >= TENANT_FIELDS for t in items)

    deleted = weknora.delete(f"/api/v1/tenants/{created['id']}")
    assert deleted.status_code == 200 and deleted.json()["success"] is True and deleted.json()["message"]
    error(weknora.get(f"/api/v1/tenants/{created['id']}"), 404, 1003)
    error(tenant.get("/api/v1/knowledge-bases"), 401, 1001)  # its key went with it
    assert [t["id"] for t in data(weknora.get("/api/v1/tenants"))["items"]] == [1]


def test_a_tenants_key_reads_and_updates_itself_only(weknora):
    a = data(weknora.post("/api/v1/tenants", json={"name": "a"}), 201)
    b = data(weknora.post("/api/v1/tenants", json={"name": "b"}), 201)
    as_a = as_key(weknora, a["api_key"])
    assert data(as_a.get(f"/api/v1/tenants/{a['id']}"))["api_key"] == a["api_key"]
    assert data(as_a.put(f"/api/v1/tenants/{a['id']}", json={"description": "mine"}))["description"] == "mine"
    assert [t["id"] for t in data(as_a.get("/api/v1/tenants"))["items"]] == [a["id"]]
    for other in (b["id"], 1, 999):  # another tenant, the admin, a number nobody has: all the same answer
        error(as_a.get(f"/api/v1/tenants/{other}"), 403, 1002)
        error(as_a.put(f"/api/v1/tenants/{other}", json={"name": "taken"}), 403, 1002)
        error(as_a.delete(f"/api/v1/tenants/{other}"), 403, 1002)
    error(as_a.delete(f"/api/v1/tenants/{a['id']}"), 403, 1002)
    error(as_a.post("/api/v1/tenants", json={"name": "c"}), 403, 1002)
    assert data(weknora.get(f"/api/v1/tenants/{b['id']}"))["name"] == "b"  # nothing changed
    assert len(data(weknora.get("/api/v1/tenants"))["items"]) == 3


def test_bad_input_is_a_400_and_changes_nothing(weknora):
    error(weknora.get("/api/v1/tenants/abc"), 400, 1000)
    error(weknora.get("/api/v1/tenants/99999999999999999999"), 400, 1000)
    error(weknora.post("/api/v1/tenants", json={"name": "  "}), 400, 1000)
    error(weknora.post("/api/v1/tenants", content=b"{not json", headers={"Content-Type": "application/json"}),
          400, 1010)
    error(weknora.delete("/api/v1/tenants/1"), 400, 1000)  # the default tenant stays
    error(weknora.get("/api/v1/tenants/42"), 404, 1003)
    assert [t["id"] for t in data(weknora.get("/api/v1/tenants"))["items"]] == [1]


def test_deleting_a_tenant_removes_everything_it_owns(weknora, svc):
    t = data(weknora.post("/api/v1/tenants", json={"name": "doomed"}), 201)
    tenant = as_key(weknora, t["api_key"])
    own, shared = b"Only the doomed tenant has this text about comets.", b"Both tenants keep this text on tides."
    kb = data(tenant.post("/api/v1/knowledge-bases", json={"name": "kb"}), 201)["id"]
    for name, content in (("own.txt", own), ("shared.txt", shared)):
        data(tenant.post(f"/api/v1/knowledge-bases/{kb}/knowledge/file", files={"file": (name, content)}))
    admin_kb = data(weknora.post("/api/v1/knowledge-bases", json={"name": "admin kb"}), 201)["id"]
    data(weknora.post(f"/api/v1/knowledge-bases/{admin_kb}/knowledge/file", files={"file": ("tides.txt", shared)}))
    assert svc.workers.drain(timeout=120)
    session = data(tenant.post("/api/v1/sessions", json={"knowledge_base_id": kb}), 201)["id"]
    tenant.post(f"/api/v1/knowledge-chat/{session}", json={"query": "comets?"})
    data(tenant.post("/api/v1/models", json={"name": "m", "type": "LLM", "source": "OPENAI",
                                             "parameters": {"model": "gpt-4", "base_url": "http://127.0.0.1:9/v1"}}),
         201)
    tenant_id = svc.tenants.find(str(t["id"])).id
    files = svc.settings.files_dir
    assert svc.vectors.count(kb) == 2 and len([p for p in files.rglob("*") if p.is_file()]) == 2

    data(weknora.delete(f"/api/v1/tenants/{t['id']}"))
    with svc.db.session() as s:  # no row of any table belongs to it
        left = {table.name: s.scalar(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id))
                for table in Base.metadata.sorted_tables if "tenant_id" in table.c}
        assert set(left.values()) == {0}, left
    assert f"kb_{kb}" not in [c.name for c in svc.vectors.client.list_collections()]
    blobs = {p.name for p in files.rglob("*") if p.is_file()}
    assert hashlib.sha256(own).hexdigest() not in blobs  # its own file is gone
    assert hashlib.sha256(shared).hexdigest() in blobs  # a file the admin tenant also uploaded stays
    assert data(weknora.get(f"/api/v1/knowledge-bases/{admin_kb}"))["knowledge_count"] == 1


def test_keys_are_sealed_at_rest(weknora, svc):
    created = data(weknora.post("/api/v1/tenants", json={"name": "sealed"}), 201)
    svc.db.engine.dispose()  # every write is in the database files now
    stored = b"".join(p.read_bytes() for p in svc.settings.resolved_data_dir.glob("almanac.db*"))
    for key in (created["api_key"], svc.admin_api_key):
        assert key.encode() not in stored
    with svc.db.session() as s:
        sealed = s.scalars(select(ApiKey.key_sealed)).all()
    assert len(sealed) == 2 and all(v.startswith("gAAAA") for v in sealed)  # Fernet tokens
    assert data(weknora.get(f"/api/v1/tenants/{created['id']}"))["api_key"] == created["api_key"]
    assert (svc.settings.secret_key_file.stat().st_mode & 0o077) == 0  # the secret is its owner's only
