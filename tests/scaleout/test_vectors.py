"""The vector store against a Chroma server (and embedded, for comparison)."""

import numpy as np
import pytest

from storage.vectors import VectorStore


@pytest.fixture(params=["embedded", "server"])
def store(request, tmp_path) -> VectorStore:
    if request.param == "embedded":
        return VectorStore(path=tmp_path / "chroma")
    return VectorStore(url=request.getfixturevalue("chroma_url"))


def test_set_metadata_of_more_vectors_than_one_chroma_batch(store):
    """Disabling a document of many thousand chunks updates all of them (Chroma caps records per call)."""
    n = store.client.get_max_batch_size() + 50
    ids = [f"c{i}" for i in range(n)]
    vecs = np.random.default_rng(0).random((n, 4), dtype=np.float32)
    for i in range(0, n, 2000):
        part = ids[i : i + 2000]
        store.upsert("bulk", part, vecs[i : i + 2000], [{"doc_id": "d", "enabled": True}] * len(part))
    store.set_metadata("bulk", ids + ["unknown"], [{"doc_id": "d", "enabled": False}] * (n + 1))
    assert store.count("bulk") == n
    assert store.query("bulk", vecs[0], 10, where={"enabled": True}) == []
    store.set_metadata("bulk", ids[:3], [{"doc_id": "d", "enabled": True}] * 3)
    assert {i for i, _ in store.query("bulk", vecs[0], 10, where={"enabled": True})} == set(ids[:3])
    got = store.get_vectors("bulk", ids[:2])
    assert np.allclose(got["c1"], vecs[1])
    store.drop("bulk")
    assert store.count("bulk") == 0
