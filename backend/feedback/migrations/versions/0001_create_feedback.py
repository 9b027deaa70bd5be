"""The feedback table: one user's correction of an answer, with the picture.

Revision ID: 0001
Revises:
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("label", sa.String(), nullable=False),
        sa.Column("predicted", sa.String(), nullable=True),
        sa.Column("model_version", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("image_bytes", sa.Integer(), nullable=False),
        sa.Column("delete_token_hash", sa.String(64), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_feedback_created_at_image_bytes", "feedback", ["created_at", "image_bytes"])


def downgrade() -> None:
    op.drop_index("ix_feedback_created_at_image_bytes", table_name="feedback")
    op.drop_table("feedback")
