"""The file storage service (core/files.py) and the server secret (core/secrets.py)."""

from __future__ import annotations

import os
import stat
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from core.config import Settings
from core.errors import Forbidden, InvalidInput, NotFound, TooLarge
from core.secrets import Sealer
from tests.conftest import ingest
from tests.helpers import swatch

TEXT = b"# Returns\n\nItems can be returned within thirty days of delivery.\n"


def signed(path: str) -> tuple[str, str, str]:
    parts = urlsplit(path)
    query = parse_qs(parts.query)
    return parts.path.rsplit("/", 1)[1], query["exp"][0], query["sig"][0]


def test_files_are_kept_per_tenant_and_listed_by_name_prefix(svc, tenant):
    other = svc.tenants.create_tenant("other")
    a = svc.files.save(tenant, "Report-2026.md", TEXT)
    b = svc.files.save(tenant, "report-draft.txt", b"draft")
    svc.files.save(tenant, "notes.md", b"notes")
    assert (a.extension, a.mime_type, a.size, a.purpose) == ("md", "text/markdown", len(TEXT), "file")
    assert svc.files.read(tenant, a.id) == (a, TEXT)
    found = svc.files.list(tenant, prefix="REPORT")
    assert found.total == 2 and {f.id for f in found.items} == {a.id, b.id}
    assert svc.files.list(tenant, prefix="report", page=2, page_size=1).items[0].id in (a.id, b.id)
    assert svc.files.list(tenant, prefix="%").total == 0  # a prefix, not a pattern
    assert svc.files.list(other).total == 0
    for call in (svc.files.get, svc.files.read, svc.files.delete):
        with pytest.raises(NotFound) as err:
            call(other, a.id)
        assert err.value.kind == "upload_file"
    assert svc.files.get(tenant, a.id).name == "Report-2026.md"  # nothing changed


def test_limits_come_from_the_settings(tmp_path):
    from core.container import build_services

    services = build_services(Settings(data_dir=tmp_path / "d", ingest_workers=0, embedding_model="mock:words-64",
                                       file_max_mb=1, file_extensions="md,png"))
    try:
        with pytest.raises(TooLarge, match="the limit is 1 MB"):
            services.files.save("default", "big.md", b"x" * (2**20 + 1))
        with pytest.raises(InvalidInput, match=r"\.txt is not accepted"):
            services.files.save("default", "a.txt", b"text")
        with pytest.raises(InvalidInput, match=r"\.\(none\) is not accepted"):
            services.files.save("default", "README", b"text")
        with pytest.raises(InvalidInput, match="is empty"):
            services.files.save("default", "empty.md", b"")
        with pytest.raises(InvalidInput, match=r"\.md is not accepted.*images may be"):
            services.files.save("default", "a.md", TEXT, image=True)
        assert services.files.save("default", "ok.md", b"x" * 2**20).size == 2**20
        assert services.files.list("default").total == 1
    finally:
        services.close()


@pytest.mark.parametrize(("name", "fmt", "mime"), [("a.png", "PNG", "image/png"), ("b.JPG", "JPEG", "image/jpeg"),
                                                   ("c.gif", "GIF", "image/gif"), ("d.webp", "WEBP", "image/webp")])
def test_images_are_sniffed(svc, tenant, name, fmt, mime):
    f = svc.files.save(tenant, name, swatch(fmt), image=True)
    assert (f.mime_type, f.purpose) == (mime, "image")


def test_content_that_is_not_the_image_it_claims_is_refused(svc, tenant):
    png = swatch("PNG")
    with pytest.raises(InvalidInput, match="contains a JPEG image, not what .png promises: rename it .jpg"):
        svc.files.save(tenant, "photo.png", swatch("JPEG"), image=True)
    with pytest.raises(InvalidInput, match="not a readable image"):
        svc.files.save(tenant, "page.png", b"<html><script>alert(1)</script></html>", image=True)
    with pytest.raises(InvalidInput, match="not a readable image"):
        svc.files.save(tenant, "cut.png", png[: len(png) // 2], image=True)
    with pytest.raises(InvalidInput, match="not a readable image"):  # an image extension is sniffed as a file too
        svc.files.save(tenant, "fake.jpg", b"plain text")
    assert svc.files.list(tenant).total == 0


def test_signed_urls_expire_and_cannot_be_forged(svc, tenant):
    f = svc.files.save(tenant, "a.md", TEXT)
    g = svc.files.save(tenant, "b.md", b"other")
    file_id, exp, sig = signed(svc.files.signed_path(f))
    assert file_id == f.id and int(exp) - 3600 <= time.time() + 1
    assert svc.files.open_signed(file_id, exp, sig) == (f, TEXT)
    for args in ((file_id, str(int(exp) + 1), sig), (g.id, exp, sig), (file_id, exp, sig[:-1] + "A"),
                 (file_id, exp, ""), (file_id, "soon", sig), (file_id, exp, "é")):
        with pytest.raises(Forbidden, match="not valid"):
            svc.files.open_signed(*args)
    with pytest.raises(Forbidden, match="expired"):
        svc.files.open_signed(*signed(svc.files.signed_path(f, ttl_s=-5)))
    image = svc.files.save(tenant, "i.png", swatch(), image=True)
    assert int(signed(svc.files.signed_path(image))[1]) > int(exp) + 300 * 86400  # icons live long
    svc.files.delete(tenant, f.id)
    with pytest.raises(NotFound):
        svc.files.open_signed(file_id, exp, sig)


def test_an_upload_that_became_a_document_stays_with_the_document(svc, tenant):
    kb = svc.knowledge.create(tenant, "kb")
    f = svc.files.save(tenant, "returns.md", TEXT)
    batch, (doc,) = svc.documents.add_files(tenant, kb.id, [f.id])
    assert doc.file_id == f.id and len(batch) == 20
    assert svc.workers.drain(timeout=60)
    svc.files.delete(tenant, f.id)
    with pytest.raises(NotFound):
        svc.files.get(tenant, f.id)
    assert svc.documents.download(tenant, doc.id)[1] == TEXT  # the document keeps its original
    svc.documents.delete(tenant, [doc.id])
    assert not (svc.settings.files_dir / f.key).exists()  # released with the last document


def test_deleting_a_document_keeps_the_upload(svc, tenant):
    kb = svc.knowledge.create(tenant, "kb")
    f = svc.files.save(tenant, "returns.md", TEXT)
    _, (doc,) = svc.documents.add_files(tenant, kb.id, [f.id])
    svc.documents.delete(tenant, [doc.id])
    assert svc.files.read(tenant, f.id)[1] == TEXT
    svc.files.delete(tenant, f.id)
    assert not (svc.settings.files_dir / f.key).exists()


def test_documents_from_files_are_checked_before_anything_is_created(svc, tenant):
    kb = svc.knowledge.create(tenant, "kb")
    good = svc.files.save(tenant, "a.md", TEXT)
    image = svc.files.save(tenant, "i.gif", swatch("GIF"), image=True)  # images are OCR'd, GIFs are not read
    (doc,) = ingest(svc, tenant, kb.id, [("original.md", TEXT)])
    for ids, error in (([good.id, image.id], "'i.gif' cannot become a document: Unsupported file type"),
                       ([good.id, "nope"], "File 'nope' not found"),
                       ([good.id, doc.file_id], "not found")):  # a document's original is not an upload
        with pytest.raises((InvalidInput, NotFound), match=error):
            svc.documents.add_files(tenant, kb.id, ids)
    assert svc.documents.list(tenant, kb.id).total == 1


def test_the_server_secret_is_kept_private_or_taken_from_the_settings(tmp_path):
    settings = Settings(data_dir=tmp_path / "d")
    sealer = Sealer(settings)
    mode = stat.S_IMODE(os.stat(settings.secret_key_file).st_mode)
    assert mode == 0o600
    assert Sealer(settings).verify("m", sealer.sign("m"))  # the same secret after a restart
    token = sealer.seal("sk-secret")
    assert token != "sk-secret" and Sealer(settings).unseal(token) == "sk-secret"
    with pytest.raises(ValueError, match="sealed with another secret key"):
        sealer.unseal(token[:-4] + "AAAA")
    assert sealer.sign("m") != sealer.sign("n") and not sealer.verify("n", sealer.sign("m"))
    fixed = Settings(data_dir=tmp_path / "e", secret_key="from-env")
    assert Sealer(fixed).verify("m", Sealer(Settings(data_dir=tmp_path / "f", secret_key="from-env")).sign("m"))
    assert not Sealer(fixed).verify("m", sealer.sign("m"))
    assert not fixed.secret_key_file.exists()
