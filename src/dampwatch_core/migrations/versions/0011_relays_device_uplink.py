"""relays, device uplink

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01

``relays``: block relays with their MQTT credential (hash). ``devices.uplink`` ("wifi" or
"espnow"), ``devices.relay_id`` (the relay an ESP-NOW device sends through) and
``devices.espnow_key`` (its 32-byte frame key, hex: the relay needs it to check tags).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from dampwatch_core.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "relays",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("block", sa.String(128), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("decommissioned_at", UTCDateTime(), nullable=True),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("uplink", sa.String(16), nullable=False, server_default="wifi")
        )
        batch_op.add_column(sa.Column("relay_id", sa.String(64), nullable=True))
        batch_op.add_column(sa.Column("espnow_key", sa.String(64), nullable=True))
        batch_op.create_index("ix_devices_relay_id", ["relay_id"])
        batch_op.create_foreign_key("fk_devices_relay_id", "relays", ["relay_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_constraint("fk_devices_relay_id", type_="foreignkey")
        batch_op.drop_index("ix_devices_relay_id")
        batch_op.drop_column("espnow_key")
        batch_op.drop_column("relay_id")
        batch_op.drop_column("uplink")
    op.drop_table("relays")
