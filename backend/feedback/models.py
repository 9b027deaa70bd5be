"""The feedback table, as SQLAlchemy Core declares it (a Table: the store's few statements need no
ORM, and a worker then never imports it). Its schema's history is in migrations/versions/: a change
here goes with a new migration there (tests/backend/feedback/test_database.py compares the two)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table

metadata = MetaData()

feedback = Table(
    "feedback",
    metadata,
    Column("id", String(32), primary_key=True),  # uuid4 hex
    Column("label", String, nullable=False),  # a class of the model, or "none"
    Column("predicted", String),  # what the model said, if the page told
    Column("model_version", String, nullable=False),  # the model that was corrected
    Column("created_at", DateTime(timezone=True), nullable=False),  # UTC
    Column("image_bytes", Integer, nullable=False),
    Column("delete_token_hash", String(64), nullable=False),  # sha256 hex of the sender's token
    # The picture as stored (backend/feedback/images.py); last, so that SQLite reads the other
    # columns of a row without reading through it.
    Column("image", LargeBinary, nullable=False),
    # What each new entry reads (the retention purge, the storage total), from the index alone.
    Index("ix_feedback_created_at_image_bytes", "created_at", "image_bytes"),
)
