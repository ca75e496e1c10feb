"""device clock offset

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

``devices.clock_offset_s``: the device's clock minus true time in seconds (signed), from
the ``sent`` of its last telemetry; null until a device sends ``sent``. BigInteger because
``sent`` is a 32-bit unsigned time, so an offset can exceed PostgreSQL's ``integer``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_offset_s", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("clock_offset_s")
