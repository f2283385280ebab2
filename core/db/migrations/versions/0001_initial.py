"""Cities, stations, hourly measurements (monthly partitions in PostgreSQL), weather.

Revision ID: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cities",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(120), nullable=False, unique=True),
        sa.Column("country", sa.String(80), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
    )
    op.create_table(
        "stations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )
    op.create_index("ix_stations_city_id", "stations", ["city_id"])
    op.create_index("ix_stations_lon_lat", "stations", ["lon", "lat"])
    op.create_table(
        "measurements",
        # No foreign key: a per-row FK check halves COPY throughput; the loader maps station codes to
        # known ids before writing, so nothing unknown gets in.
        sa.Column("station_id", sa.Integer, nullable=False),
        sa.Column("parameter", sa.String(8), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("quality", sa.SmallInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("station_id", "parameter", "ts"),
        # Monthly partitions are created on demand by core.db.partitions before each load.
        postgresql_partition_by="RANGE (ts)",
    )
    # Latest-per-station, recent-window and newest-hour queries range over ts first.
    op.create_index("ix_measurements_ts", "measurements", ["ts"])
    op.create_table(
        "weather",
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("temperature_c", sa.Float),
        sa.Column("humidity_pct", sa.Float),
        sa.Column("wind_speed_ms", sa.Float),
        sa.Column("wind_dir_deg", sa.Float),
        sa.Column("pressure_hpa", sa.Float),
        sa.Column("precipitation_mm", sa.Float),
        sa.PrimaryKeyConstraint("city_id", "ts"),
    )


def downgrade() -> None:
    op.drop_table("weather")
    op.drop_table("measurements")
    op.drop_table("stations")
    op.drop_table("cities")
