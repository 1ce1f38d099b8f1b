import pytest

from core.config import Settings
from core.errors import Forbidden, InvalidInput, NotFound
from core.tenants import DEFAULT_TENANT_ID, TenantService
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


def test_keys_are_listed_by_prefix_and_revoked(svc):
    tenant = svc.tenants.create_tenant("keys")
    key = svc.tenants.create_api_key(tenant, "ci")
    (info,) = svc.tenants.list_keys(tenant)
    assert (info.name, info.prefix) == ("ci", key[:12]) and key not in info.model_dump_json()
    assert svc.tenants.resolve(key) == tenant
    with pytest.raises(NotFound):
        svc.tenants.revoke_key("default", info.id)  # another tenant's key is not found
    assert svc.tenants.revoke_key(tenant, info.id).id == info.id
    with pytest.raises(Forbidden):
        svc.tenants.resolve(key)
    (admin,) = svc.tenants.list_keys("default")
    with pytest.raises(InvalidInput, match="restored at every start"):
        svc.tenants.revoke_key("default", admin.id)
