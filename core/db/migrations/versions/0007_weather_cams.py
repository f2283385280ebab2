"""Weather source per row and CAMS air-quality forecasts (Open-Meteo).

Revision ID: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every row so far came from the simulator or the sites' own instruments.
    with op.batch_alter_table("weather") as batch:
        batch.add_column(sa.Column("source", sa.String(8), nullable=False, server_default="observed"))
    op.create_table(
        "cams_forecasts",
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id"), nullable=False),
        sa.Column("parameter", sa.String(8), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("unit", sa.String(8), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("city_id", "parameter", "ts"),
    )


def downgrade() -> None:
    op.drop_table("cams_forecasts")
    with op.batch_alter_table("weather") as batch:
        batch.drop_column("source")
