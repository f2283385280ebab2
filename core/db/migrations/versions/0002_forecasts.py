"""Stored forecasts: quantiles per station, parameter, issue hour and horizon.

Revision ID: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecasts",
        sa.Column("station_id", sa.Integer, nullable=False),
        sa.Column("parameter", sa.String(8), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("horizon", sa.SmallInteger, nullable=False),
        sa.Column("target_ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("p10", sa.Float, nullable=False),
        sa.Column("p50", sa.Float, nullable=False),
        sa.Column("p90", sa.Float, nullable=False),
        sa.Column("model_version", sa.String(32), nullable=False),
        # Leading (station_id, parameter, issued_at): "latest issue per station" is an index range scan.
        sa.PrimaryKeyConstraint("station_id", "parameter", "issued_at", "horizon"),
    )
    op.create_index("ix_forecasts_issued_at", "forecasts", ["issued_at"])


def downgrade() -> None:
    op.drop_index("ix_forecasts_issued_at", table_name="forecasts")
    op.drop_table("forecasts")
