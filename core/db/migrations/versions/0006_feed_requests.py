"""Requests per feed and UTC hour, so a rate-limited API stays within its hourly budget across runs.

Revision ID: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feed_requests",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("source", "hour"),
    )


def downgrade() -> None:
    op.drop_table("feed_requests")
