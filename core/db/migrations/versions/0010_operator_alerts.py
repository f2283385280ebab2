"""Operator alert rules' states, silences and notification history.

Revision ID: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_alert_rules",
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("severity", sa.String(8)),
        sa.Column("value", sa.Float),
        sa.Column("episode", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fired_at", sa.DateTime(timezone=True)),
        sa.Column("notified_at", sa.DateTime(timezone=True)),
        sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "operator_alert_silences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(64)),  # NULL: every rule
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True)),  # NULL: until the rule resolves
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_operator_alert_silences_open", "operator_alert_silences", ["ended_at", "until"])
    op.create_table(
        "operator_alert_acks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("acknowledged_by", sa.String(80), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("rule", "episode", name="uq_operator_alert_acks_episode"),
    )
    op.create_table(
        "operator_alert_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_state", sa.String(12), nullable=False),
        sa.Column("to_state", sa.String(12), nullable=False),
        sa.Column("severity", sa.String(8)),
        sa.Column("value", sa.Float),
        sa.Column("episode", sa.Integer, nullable=False),
        sa.Column("notification", sa.String(12)),
        sa.Column("silenced", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_operator_alert_events_at", "operator_alert_events", ["at"])


def downgrade() -> None:
    op.drop_table("operator_alert_events")
    op.drop_table("operator_alert_acks")
    op.drop_index("ix_operator_alert_silences_open", "operator_alert_silences")
    op.drop_table("operator_alert_silences")
    op.drop_table("operator_alert_rules")
