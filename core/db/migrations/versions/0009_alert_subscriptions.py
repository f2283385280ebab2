"""Public alert subscriptions, their episodes and the delivery outbox.

Revision ID: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(320), nullable=False),
        sa.Column("city_id", sa.Integer, sa.ForeignKey("cities.id"), nullable=True),
        sa.Column("station_id", sa.Integer, sa.ForeignKey("stations.id"), nullable=True),
        sa.Column("standard", sa.String(16), nullable=False),
        sa.Column("category", sa.SmallInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("secret", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changed_hour", sa.DateTime(timezone=True), nullable=True),
        sa.Column("episode_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_episode", sa.DateTime(timezone=True), nullable=True),
        sa.Column("below_hours", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("transition", sa.String(16), nullable=True),
        sa.Column("last_index", sa.Float, nullable=True),
        sa.Column("last_category", sa.SmallInteger, nullable=True),
        sa.CheckConstraint("(city_id IS NULL) <> (station_id IS NULL)", name="ck_alert_subscriptions_place"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Each hour rewrites the state of the subscriptions that changed: room on the page keeps those updates HOT.
        op.execute("ALTER TABLE alert_subscriptions SET (fillfactor = 70)")
    op.create_index("ix_alert_subscriptions_station", "alert_subscriptions", ["station_id", "standard"])
    op.create_index("ix_alert_subscriptions_city", "alert_subscriptions", ["city_id", "standard"])
    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subscription_id", sa.Integer, sa.ForeignKey("alert_subscriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("episode", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.SmallInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscription_id", "episode", "kind", name="uq_alert_events_once"),
    )
    op.create_index("ix_alert_events_hour", "alert_events", ["hour"])
    op.create_table(
        "alert_evaluations",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
    )
    op.create_table(
        "alert_conditions",
        sa.Column("hour", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("place", sa.String(8), primary_key=True),
        sa.Column("place_id", sa.Integer, primary_key=True),
        sa.Column("standard", sa.String(16), primary_key=True),
        sa.Column("category", sa.SmallInteger, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("episode", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("target", sa.String(2048), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_alert_outbox_due", "alert_outbox", ["state", "due_at"])
    op.create_table(
        "alert_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("outbox_id", sa.Integer, sa.ForeignKey("alert_outbox.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean, nullable=False),
        sa.Column("error", sa.String(500), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("alert_attempts")
    op.drop_table("alert_outbox")
    op.drop_table("alert_conditions")
    op.drop_table("alert_evaluations")
    op.drop_table("alert_events")
    op.drop_table("alert_subscriptions")
