"""The feedback table, as SQLAlchemy declares it. Its schema's history is in migrations/versions/:
a change here goes with a new migration there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # uuid4 hex
    label: Mapped[str] = mapped_column(String)  # a class of the model, or "none"
    predicted: Mapped[str | None] = mapped_column(String)  # what the model said, if the page told
    model_version: Mapped[str] = mapped_column(String)  # the model that was corrected
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC
    image_bytes: Mapped[int] = mapped_column(Integer)
    delete_token_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the sender's token
    # The picture as stored (backend/feedback/images.py); last, so that SQLite reads the other
    # columns of a row without reading through it.
    image: Mapped[bytes] = mapped_column(LargeBinary)

    # What each new entry reads (the retention purge, the storage total), from the index alone.
    __table_args__ = (Index("ix_feedback_created_at_image_bytes", "created_at", "image_bytes"),)
