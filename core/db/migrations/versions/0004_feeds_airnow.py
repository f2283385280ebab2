"""Live feeds: station metadata from the sources, AirNow's published AQI, and a cursor per feed.

Revision ID: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

STATION_COLUMNS = {"agency": sa.String(120), "country": sa.String(8), "state": sa.String(64),
                   "county": sa.String(64), "msa": sa.String(120), "utc_offset_hours": sa.Float()}


def upgrade() -> None:
    with op.batch_alter_table("stations") as batch:  # SQLite cannot ALTER many columns otherwise
        for name, kind in STATION_COLUMNS.items():
            batch.add_column(sa.Column(name, kind))
    op.create_table(
        "airnow_aqi",
        sa.Column("station_id", sa.Integer, nullable=False),
        sa.Column("parameter", sa.String(8), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aqi", sa.SmallInteger, nullable=False),
        sa.PrimaryKeyConstraint("station_id", "parameter", "ts"),
    )
    op.create_table(
        "feed_cursors",
        sa.Column("source", sa.String(32), primary_key=True),
        sa.Column("newest_hour", sa.DateTime(timezone=True)),
        sa.Column("last_run_at", sa.DateTime(timezone=True)),
        sa.Column("last_rows", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(1000)),
        sa.Column("failures", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("feed_cursors")
    op.drop_table("airnow_aqi")
    with op.batch_alter_table("stations") as batch:
        for name in reversed(STATION_COLUMNS):
            batch.drop_column(name)
