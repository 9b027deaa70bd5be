"""backend/feedback/store.py on SQLite and PostgreSQL: entries are kept with their pictures,
exported as the finetune step reads them, deleted, purged, and refused past the storage cap."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from backend.feedback import database
from backend.feedback.models import feedback
from backend.feedback.store import CSV_FIELDS, FeedbackStore, StorageFull, token_hash


@pytest.fixture()
def make_store(database_url):
    """A store on the test's database (its connections closed after the test)."""
    engine = database.connect(database_url)
    database.upgrade(engine)
    yield lambda max_bytes=10_000, retention_days=365: FeedbackStore(engine, max_bytes, retention_days)
    engine.dispose()


def _export(store: FeedbackStore) -> tuple[zipfile.ZipFile, list[dict]]:
    buffer = io.BytesIO()
    store.export(buffer)
    archive = zipfile.ZipFile(buffer)
    return archive, list(csv.DictReader(io.StringIO(archive.read("feedback.csv").decode())))


def _add(store: FeedbackStore, image: bytes = b"\xff\xd8 a jpeg", label: str = "dog",
         predicted: str | None = "deer") -> tuple[str, str]:
    return store.add(image=image, label=label, predicted=predicted, model_version="v1")


def test_an_entry_is_exported_with_its_picture_and_fields(make_store):
    store = make_store()
    before = datetime.now(UTC).replace(microsecond=0)
    first, _ = _add(store, b"first picture", "dog", "deer")
    second, _ = _add(store, b"second picture", "none", None)
    archive, rows = _export(store)
    assert sorted(archive.namelist()) == sorted([f"dog/{first}.jpg", f"none/{second}.jpg", "feedback.csv"])
    assert archive.read(f"dog/{first}.jpg") == b"first picture"
    assert list(rows[0]) == list(CSV_FIELDS)
    assert [(row["id"], row["label"], row["predicted"], row["model_version"]) for row in rows] == [
        (first, "dog", "deer", "v1"), (second, "none", "", "v1")]
    for row in rows:
        created = datetime.fromisoformat(row["created_at"])
        assert created.utcoffset() == timedelta(0) and before <= created <= datetime.now(UTC)


def test_the_sender_s_token_is_stored_only_as_its_hash(make_store):
    store = make_store()
    entry, token = _add(store)
    assert len(entry) == 32 and int(entry, 16) >= 0
    assert store.delete_token_hash(entry) == token_hash(token) != token
    assert store.delete_token_hash("0" * 32) is None


def test_a_deleted_entry_is_gone_with_its_picture(make_store):
    store = make_store()
    kept, _ = _add(store)
    gone, _ = _add(store)
    assert store.delete(gone) is True
    assert store.delete(gone) is False
    archive, rows = _export(store)
    assert [row["id"] for row in rows] == [kept] and f"dog/{gone}.jpg" not in archive.namelist()


def test_past_the_storage_cap_nothing_more_is_stored(make_store):
    store = make_store(max_bytes=100)
    _add(store, b"x" * 60)
    with pytest.raises(StorageFull):
        _add(store, b"y" * 41)  # 101 bytes in all
    _add(store, b"z" * 40)  # exactly 100 fits
    _, rows = _export(store)
    assert len(rows) == 2


@pytest.mark.parametrize(("retention_days", "left"), [(30, 1), (0, 2)])
def test_entries_past_the_retention_period_are_purged(make_store, retention_days, left):
    store = make_store(retention_days=retention_days)
    old, _ = _add(store)
    with store.engine.begin() as connection:
        connection.execute(update(feedback).where(feedback.c.id == old)
                           .values(created_at=datetime.now(UTC) - timedelta(days=31)))
    _add(store)  # each new entry purges
    assert len(_export(store)[1]) == left
    assert store.purge() == 0
