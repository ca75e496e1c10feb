"""work order status history, post-repair verification

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

``work_order_status_history``: what contractors report back (HACT JobStatusUpdate and
WorkOrderComplete). ``hazard_cases`` gains the post-repair watch (``verify_until``, its
outcome, the before/after figures) and ``reopened_count``, the reopened-cases KPI.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dampwatch_core.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "work_order_status_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("work_order_id", sa.Integer(), nullable=False),
        sa.Column("received_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("event_time", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("type_code", sa.String(length=24), nullable=False),
        sa.Column("comments", sa.Text(), nullable=False),
        sa.Column(
            "appointment_start", dampwatch_core.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "appointment_end", dampwatch_core.models.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("completion", sa.JSON(), nullable=True),
        sa.Column("reported_by", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_work_order_status_history_work_order_id_work_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_order_status_history")),
    )
    with op.batch_alter_table("work_order_status_history", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_work_order_status_history_work_order_id"), ["work_order_id"]
        )
    with op.batch_alter_table("hazard_cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "verify_until", dampwatch_core.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("verification_outcome", sa.String(16), nullable=True))
        batch_op.add_column(
            sa.Column(
                "verified_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(sa.Column("verification", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("reopened_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.create_index(batch_op.f("ix_hazard_cases_verify_until"), ["verify_until"])


def downgrade() -> None:
    with op.batch_alter_table("hazard_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hazard_cases_verify_until"))
        batch_op.drop_column("reopened_count")
        batch_op.drop_column("verification")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("verification_outcome")
        batch_op.drop_column("verify_until")
    with op.batch_alter_table("work_order_status_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_order_status_history_work_order_id"))
    op.drop_table("work_order_status_history")
