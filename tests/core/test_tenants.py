import pytest

from core.config import Settings
from core.errors import Forbidden
from core.tenants import DEFAULT_TENANT_ID, TenantService, hash_key
from storage.db import Database, migrate


def service(tmp_path, **kw) -> TenantService:
    settings = Settings(data_dir=tmp_path, **kw)
    db = Database(settings.sqlalchemy_url)
    migrate(db.engine)
    return TenantService(db, settings)


def test_admin_key_generated_once_and_kept(tmp_path):
    svc = service(tmp_path)
    key = svc.ensure_default()
    assert key.startswith("almanac-") and len(key) > 30
    assert svc.ensure_default() == key  # a restart prints the same key
    assert (tmp_path / "admin_api_key").stat().st_mode & 0o077 == 0  # owner-only file
    assert svc.resolve(key) == DEFAULT_TENANT_ID


def test_configured_admin_key_wins(tmp_path):
    svc = service(tmp_path, admin_api_key="my-secret-key")
    assert svc.ensure_default() == "my-secret-key"
    assert svc.resolve("my-secret-key") == DEFAULT_TENANT_ID
    assert not (tmp_path / "admin_api_key").exists()


def test_keys_per_tenant_and_unknown_keys(tmp_path):
    svc = service(tmp_path)
    svc.ensure_default()
    acme = svc.create_tenant("Acme")
    key = svc.create_api_key(acme, "ci")
    assert svc.resolve(key) == acme
    with pytest.raises(Forbidden):
        svc.resolve("almanac-wrong")
    with pytest.raises(Forbidden):
        svc.resolve("")


def test_resolving_a_key_stamps_its_use_in_the_background_at_most_once_a_minute(tmp_path):
    from sqlalchemy import event, select

    from storage.orm import ApiKey

    svc = service(tmp_path)
    key = svc.ensure_default()
    writes = []
    event.listen(svc.db.engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_: writes.append(statement) if statement.startswith("UPDATE") else None)
    for _ in range(20):
        assert svc.resolve(key) == DEFAULT_TENANT_ID
    svc.close()  # waits for the queued stamp
    assert len([w for w in writes if "api_keys" in w]) == 1
    with svc.db.session() as s:
        assert s.scalar(select(ApiKey.last_used_at)) is not None


def test_tenant_administration_admin_manages_all_a_tenant_only_itself(tmp_path):
    from core.errors import InvalidInput, NotFound

    svc = service(tmp_path)
    svc.ensure_default()
    acme = svc.create(DEFAULT_TENANT_ID, "Acme", "retail")
    beta = svc.create(DEFAULT_TENANT_ID, "Beta")
    assert (acme.number, beta.number) == (2, 3) and acme.api_key.startswith("almanac-")
    assert svc.resolve(acme.api_key) == acme.id
    assert svc.get(acme.id, acme.number) == acme  # a tenant reads itself, key included
    assert svc.update(acme.id, acme.number, description="shops").description == "shops"
    assert [t.number for t in svc.list(acme.id)] == [2]
    assert [t.number for t in svc.list(DEFAULT_TENANT_ID)] == [1, 2, 3]
    for attempt in (lambda: svc.get(acme.id, beta.number), lambda: svc.get(acme.id, 1),
                    lambda: svc.get(acme.id, 99), lambda: svc.update(acme.id, beta.number, name="x"),
                    lambda: svc.create(acme.id, "Gamma"), lambda: svc.delete(acme.id, acme.number)):
        with pytest.raises(Forbidden):
            attempt()
    with pytest.raises(InvalidInput):
        svc.delete(DEFAULT_TENANT_ID, 1)
    with pytest.raises(InvalidInput):
        svc.create(DEFAULT_TENANT_ID, " ")
    svc.delete(DEFAULT_TENANT_ID, beta.number)
    with pytest.raises(NotFound):
        svc.get(DEFAULT_TENANT_ID, beta.number)
    with pytest.raises(Forbidden):
        svc.resolve(beta.api_key)
    assert svc.create(DEFAULT_TENANT_ID, "Delta").number == 4  # a deleted tenant's number is not reused
    assert svc.find("Acme").id == acme.id and svc.find("2").id == acme.id and svc.find(acme.id).number == 2


def test_keys_are_sealed_listed_revoked_and_the_newest_is_shown(tmp_path):
    from sqlalchemy import select

    from core.errors import InvalidInput
    from storage.orm import ApiKey

    svc = service(tmp_path)
    admin = svc.ensure_default()
    acme = svc.create(DEFAULT_TENANT_ID, "Acme")
    second = svc.create_api_key(acme.id, "ci")
    assert svc.get(DEFAULT_TENANT_ID, acme.number).api_key == second
    with svc.db.session() as s:
        rows = s.scalars(select(ApiKey)).all()
    assert {r.key_hash for r in rows} >= {hash_key(admin), hash_key(second)}
    assert all(r.key_sealed and second not in r.key_sealed and admin not in r.key_sealed for r in rows)
    keys = svc.list_keys(acme.id)
    assert [k.name for k in keys] == ["default", "ci"] and keys[1].prefix == second[:12]
    svc.revoke_key(acme.id, keys[1].prefix)
    with pytest.raises(Forbidden):
        svc.resolve(second)
    assert svc.get(DEFAULT_TENANT_ID, acme.number).api_key == acme.api_key  # the remaining key is shown again
    with pytest.raises(InvalidInput):  # the admin key comes back at every start: refused with a reason
        svc.revoke_key(DEFAULT_TENANT_ID, svc.list_keys(DEFAULT_TENANT_ID)[0].id)


def test_another_secret_cannot_unseal_but_keys_still_work(tmp_path):
    first = service(tmp_path)
    key = first.ensure_default()
    other = service(tmp_path, secret_key="a different secret")
    assert other.resolve(key) == DEFAULT_TENANT_ID  # lookup is by hash
    assert other.get(DEFAULT_TENANT_ID, 1).api_key == ""  # but the sealed copy is unreadable


def test_migration_numbers_existing_tenants_and_keeps_their_rows(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from storage.db import MIGRATIONS_DIR

    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
        conn.execute(text("INSERT INTO tenants (id, name, created_at) VALUES ('zeta', 'Zeta', '2024-01-01'), "
                          "('default', 'Default', '2025-01-01'), ('alpha', 'Alpha', '2024-06-01')"))
        conn.execute(text("INSERT INTO knowledge_bases (id, tenant_id, name, name_key, description, icon, language, "
                          "permission, embedding_model, chunk_config, retrieval_config, extra, hit_count, "
                          "created_at, updated_at) VALUES ('kb', 'alpha', 'kb', 'kb', '', '', 'English', 'me', "
                          "'mock:x', '{}', '{}', '{}', 0, '2024-06-02', '2024-06-02')"))
    migrate(db.engine)
    with db.engine.connect() as conn:
        rows = conn.execute(text("SELECT id, number FROM tenants ORDER BY number")).all()
        assert [tuple(r) for r in rows] == [("default", 1), ("zeta", 2), ("alpha", 3)]
        assert conn.execute(text("SELECT count(*) FROM knowledge_bases")).scalar() == 1
    svc = TenantService(db, Settings(data_dir=tmp_path))
    svc.ensure_default()
    assert svc.create_tenant("Next") and svc.find("Next").number == 4
