"""bigint counters, device firmware counters, quarantine payloads once, shed counts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:24:55.095897

- ``devices.boot`` and ``devices.last_seq`` become BigInteger (32-bit unsigned counters
  do not fit PostgreSQL's ``integer``); ``drops``, ``buffered``, ``sensor_failures``
  join device health.
- A quarantined message's payload moves to ``quarantine_payloads``, stored once for
  all its records; existing rows keep theirs (one payload row each).
- ``quarantine_shed`` counts the records the per-device cap did not store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

INT4_MAX = 2**31 - 1


def upgrade() -> None:
    op.create_table(
        "quarantine_payloads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine_payloads")),
    )
    op.create_table(
        "quarantine_shed",
        sa.Column("device_key", sa.String(length=64), nullable=False),
        sa.Column("shed", sa.BigInteger(), nullable=False),
        sa.Column("first_shed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_shed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("device_key", name=op.f("pk_quarantine_shed")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("drops", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("buffered", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("sensor_failures", sa.BigInteger(), nullable=True))
        batch_op.alter_column(
            "boot", existing_type=sa.INTEGER(), type_=sa.BigInteger(), existing_nullable=True
        )
        batch_op.alter_column(
            "last_seq", existing_type=sa.INTEGER(), type_=sa.BigInteger(), existing_nullable=True
        )

    # existing records: one payload row each, with the record's own id
    op.execute(
        "INSERT INTO quarantine_payloads (id, payload, size) "
        "SELECT id, payload, length(payload) FROM quarantine"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "SELECT setval(pg_get_serial_sequence('quarantine_payloads', 'id'), "
            "COALESCE((SELECT max(id) FROM quarantine_payloads), 0) + 1, false)"
        )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload_id", sa.Integer(), nullable=True))
    op.execute("UPDATE quarantine SET payload_id = id")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.alter_column("payload_id", existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f("ix_quarantine_payload_id"), ["payload_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_quarantine_payload_id_quarantine_payloads"),
            "quarantine_payloads",
            ["payload_id"],
            ["id"],
        )
        batch_op.drop_column("payload")


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.LargeBinary(), nullable=True))
    op.execute(
        "UPDATE quarantine SET payload = "
        "(SELECT p.payload FROM quarantine_payloads p WHERE p.id = quarantine.payload_id)"
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.alter_column("payload", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_constraint(
            batch_op.f("fk_quarantine_payload_id_quarantine_payloads"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_quarantine_payload_id"))
        batch_op.drop_column("payload_id")

    # a counter beyond the old column's range cannot be kept: it is forgotten
    for column in ("boot", "last_seq"):
        op.execute(f"UPDATE devices SET {column} = NULL WHERE {column} > {INT4_MAX}")  # noqa: S608
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.alter_column(
            "last_seq", existing_type=sa.BigInteger(), type_=sa.INTEGER(), existing_nullable=True
        )
        batch_op.alter_column(
            "boot", existing_type=sa.BigInteger(), type_=sa.INTEGER(), existing_nullable=True
        )
        batch_op.drop_column("sensor_failures")
        batch_op.drop_column("buffered")
        batch_op.drop_column("drops")

    op.drop_table("quarantine_shed")
    op.drop_table("quarantine_payloads")
