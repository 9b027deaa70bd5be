"""The feedback entries: add one (within the storage cap, old ones purged), delete one, export
them all as a zip. Flask-free: the views (backend/feedback/views.py) turn its answers into HTTP."""

from __future__ import annotations

import csv
import hashlib
import io
import secrets
import uuid
import zipfile
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, insert, select

from backend.feedback.models import feedback

CSV_FIELDS = ("id", "label", "predicted", "model_version", "created_at")


class StorageFull(Exception):
    """The pictures stored already, and this one, would take more than the cap."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        super().__init__(f"the stored pictures would pass {max_bytes} bytes")


def token_hash(token: str) -> str:
    """What is stored of a delete token: its SHA-256 (a stolen database deletes nothing)."""
    return hashlib.sha256(token.encode()).hexdigest()


def utc(moment: datetime) -> datetime:
    """A stored time, as UTC (SQLite keeps no time zone: every time written is UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class FeedbackStore:
    """The entries in ``engine``'s database. ``max_bytes``: what their pictures may take in all;
    ``retention_days``: entries older than this are purged (0: kept until deleted)."""

    def __init__(self, engine: Engine, max_bytes: int, retention_days: int):
        self.engine = engine
        self.max_bytes = max_bytes
        self.retention_days = retention_days

    def add(self, *, image: bytes, label: str, predicted: str | None, model_version: str) -> tuple[str, str]:
        """Store one entry; its id and the sender's delete token, once committed (row and
        picture in one transaction). Raises StorageFull past the cap."""
        entry_id, token = uuid.uuid4().hex, secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self.engine.begin() as connection:
            self._purge(connection, now)
            # The pictures' total as it is now: two entries sent at the same moment may both fit
            # and pass the cap together by one picture (PostgreSQL; SQLite writes one at a time).
            stored = connection.scalar(select(func.coalesce(func.sum(feedback.c.image_bytes), 0)))
            if stored + len(image) > self.max_bytes:
                raise StorageFull(self.max_bytes)
            connection.execute(insert(feedback).values(
                id=entry_id, label=label, predicted=predicted, model_version=model_version,
                created_at=now, image=image, image_bytes=len(image),
                delete_token_hash=token_hash(token)))
        return entry_id, token

    def delete_token_hash(self, entry_id: str) -> str | None:
        """The stored hash of an entry's delete token; None: no such entry."""
        with self.engine.connect() as connection:
            return connection.scalar(select(feedback.c.delete_token_hash)
                                     .where(feedback.c.id == entry_id))

    def delete(self, entry_id: str) -> bool:
        """Delete one entry; False if there was none."""
        with self.engine.begin() as connection:
            return connection.execute(delete(feedback).where(feedback.c.id == entry_id)).rowcount > 0

    def purge(self) -> int:
        """Delete the entries past the retention period; how many."""
        with self.engine.begin() as connection:
            return self._purge(connection, datetime.now(UTC))

    def _purge(self, connection: Connection, now: datetime) -> int:
        if self.retention_days <= 0:
            return 0
        cutoff = now - timedelta(days=self.retention_days)
        return connection.execute(delete(feedback).where(feedback.c.created_at < cutoff)).rowcount

    def export(self, out) -> int:
        """Write every entry to the binary file ``out`` as a zip: ``<label>/<id>.jpg`` and
        ``feedback.csv`` (CSV_FIELDS; created_at ISO 8601, UTC); how many entries. The rows are
        read a few at a time: the pictures never all sit in memory."""
        table = io.StringIO()
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(CSV_FIELDS)
        count = 0
        with zipfile.ZipFile(out, "w") as archive:
            # A plain BEGIN on SQLite: an export only reads, it need not hold the write lock.
            with self.engine.connect().execution_options(sqlite_begin="BEGIN", yield_per=64) as connection:
                rows = connection.execute(select(feedback).order_by(feedback.c.created_at,
                                                                     feedback.c.id))
                for row in rows:
                    # JPEGs are compressed already: stored as they are.
                    archive.writestr(f"{row.label}/{row.id}.jpg", row.image, zipfile.ZIP_STORED)
                    writer.writerow([row.id, row.label, row.predicted or "", row.model_version,
                                     utc(row.created_at).isoformat(timespec="seconds")])
                    count += 1
            archive.writestr("feedback.csv", table.getvalue(), zipfile.ZIP_DEFLATED)
        return count
