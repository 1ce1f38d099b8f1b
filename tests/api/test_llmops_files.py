"""LLMOps upload files (3.1, 3.2) over the file storage service, and the signed URLs (/files/<id>) that serve them."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.helpers import swatch, llmops_data, llmops_error

FILE_KEYS = {"id", "account_id", "name", "key", "size", "extension", "mime_type", "created_at"}


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver"  # absolute, on this server
    return f"{parts.path}?{parts.query}"


def test_upload_a_file_then_read_it_by_its_signed_url(client, api_app):
    data = b"# API\n\nThe endpoints of the shop.\n"
    uploaded = llmops_data(client.post("/upload-files/file", files={"file": ("慕课LLMOps项目API文档.md", data)}))
    assert FILE_KEYS <= set(uploaded)
    assert (uploaded["name"], uploaded["size"], uploaded["extension"], uploaded["mime_type"], uploaded["account_id"]) \
        == ("慕课LLMOps项目API文档.md", len(data), "md", "text/markdown", "default")
    anonymous = TestClient(api_app)  # the link is the permission
    got = anonymous.get(path_of(uploaded["url"]))
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-disposition"].startswith("attachment;")  # only checked images show inline
    assert got.headers["x-content-type-options"] == "nosniff" and "sandbox" in got.headers["content-security-policy"]


def test_upload_an_image_and_show_it_inline(client, api_app):
    png = swatch("PNG")
    data = llmops_data(client.post("/upload-files/image", files={"file": ("icon.png", png)}))
    assert set(data) == {"id", "image_url"}
    got = TestClient(api_app).get(path_of(data["image_url"]))
    assert got.status_code == 200 and got.content == png and got.headers["content-type"] == "image/png"
    assert got.headers["content-disposition"].startswith("inline;")
    # The image URL can be a dataset's icon.
    dataset = llmops_data(client.post("/datasets", json={"name": "kb", "icon": data["image_url"]}))["id"]
    assert llmops_data(client.get(f"/datasets/{dataset}"))["icon"] == data["image_url"]


def test_what_is_not_allowed_is_refused(client, svc, api_app):
    for route, upload, words in (
            ("image", ("photo.png", swatch("JPEG")), "contains a JPEG image"),
            ("image", ("page.png", b"<html></html>"), "not a readable image"),
            ("image", ("notes.md", b"# notes"), ".md is not accepted"),
            ("file", ("tool.exe", b"MZ..."), ".exe is not accepted"),
            ("file", ("empty.txt", b""), "is empty")):
        message = llmops_error(client.post(f"/upload-files/{route}", files={"file": upload}), "validate_error")
        assert message.startswith("file:") and words in message, message
    svc.settings.file_max_mb = 1
    message = llmops_error(client.post("/upload-files/file", files={"file": ("big.txt", b"x" * (2**20 + 10))}),
                           "validate_error")
    assert "the limit is 1 MB" in message
    assert llmops_error(client.post("/upload-files/file"), "validate_error").startswith("file")
    assert llmops_error(TestClient(api_app).post("/upload-files/file", files={"file": ("a.txt", b"a")}),
                        "unauthorized")
    assert svc.files.list("default").total == 0


def test_signed_urls_are_checked(client, svc, api_app):
    anonymous = TestClient(api_app)
    first = llmops_data(client.post("/upload-files/file", files={"file": ("a.txt", b"first")}))
    second = llmops_data(client.post("/upload-files/file", files={"file": ("b.txt", b"second")}))
    url = path_of(first["url"])
    assert anonymous.get(url).status_code == 200
    forged = [url.replace(first["id"], second["id"]), url.replace("sig=", "sig=x"), url.split("&sig=")[0],
              url.replace("exp=", "exp=9")]
    for attempt in forged:
        resp = anonymous.get(attempt)
        assert resp.status_code == 403 and "not valid" in resp.json()["detail"], attempt
    expired = svc.files.signed_path(svc.files.get("default", first["id"]), ttl_s=-1)
    resp = anonymous.get(expired)
    assert resp.status_code == 403 and "expired" in resp.json()["detail"]
    svc.files.delete("default", first["id"])
    assert anonymous.get(url).status_code == 404
