"""tenants, tenancies, consents, consent holds, partners, referrals

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Tenants' phone numbers, emails and postal addresses are stored as Fernet tokens (text);
``uq_consents_current`` keeps at most one grant per tenant and purpose not withdrawn.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import dampwatch_core.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("landlord", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("phone_is_mobile", sa.Boolean(), nullable=True),
        sa.Column("phone_lookup", sa.String(length=64), nullable=True),
        sa.Column("email_enc", sa.Text(), nullable=True),
        sa.Column("postal_address_enc", sa.Text(), nullable=True),
        sa.Column("preferred_language", sa.String(length=16), nullable=False),
        sa.Column("preferred_channel", sa.String(length=8), nullable=False),
        sa.Column("created_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("erased_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "preferred_channel IN ('sms', 'letter', 'email')",
            name=op.f("ck_tenants_preferred_channel"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenants_landlord"), ["landlord"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenants_phone_lookup"), ["phone_lookup"], unique=False)

    op.create_table(
        "consent_holds",
        sa.Column("flat_id", sa.String(length=64), nullable=False),
        sa.Column("case_kind", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("times", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["flat_id"], ["flats.id"], name=op.f("fk_consent_holds_flat_id_flats")
        ),
        sa.PrimaryKeyConstraint("flat_id", "case_kind", name=op.f("pk_consent_holds")),
    )
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("lawful_basis", sa.String(length=24), nullable=False),
        sa.Column("given_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("given_how", sa.String(length=128), nullable=False),
        sa.Column("recorded_by", sa.String(length=256), nullable=False),
        sa.Column("withdrawn_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_how", sa.String(length=128), nullable=True),
        sa.CheckConstraint(
            "lawful_basis IN ('consent', 'contract', 'legal_obligation', "
            "'vital_interests', 'public_task', 'legitimate_interests')",
            name=op.f("ck_consents_lawful_basis"),
        ),
        sa.CheckConstraint(
            "purpose IN ('damp_monitoring', 'underheating_outreach', 'sms_tips', "
            "'research', 'partner_referral')",
            name=op.f("ck_consents_purpose"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_consents_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consents_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(
            "uq_consents_current",
            ["tenant_id", "purpose"],
            unique=True,
            sqlite_where=sa.text("withdrawn_at IS NULL"),
            postgresql_where=sa.text("withdrawn_at IS NULL"),
        )

    op.create_table(
        "partners",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("landlord", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("service", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('webhook', 'email')", name=op.f("ck_partners_channel")),
        sa.ForeignKeyConstraint(
            ["endpoint_id"], ["contractors.id"], name=op.f("fk_partners_endpoint_id_contractors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partners")),
        sa.UniqueConstraint("name", name=op.f("uq_partners_name")),
    )
    op.create_table(
        "tenancies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("flat_id", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("created_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date", name=op.f("ck_tenancies_dates")
        ),
        sa.ForeignKeyConstraint(["flat_id"], ["flats.id"], name=op.f("fk_tenancies_flat_id_flats")),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_tenancies_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenancies")),
        sa.UniqueConstraint(
            "tenant_id", "flat_id", "start_date", name=op.f("uq_tenancies_tenant_id")
        ),
    )
    with op.batch_alter_table("tenancies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenancies_flat_id"), ["flat_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tenancies_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("consent_id", sa.Integer(), nullable=False),
        sa.Column("referred_by", sa.String(length=256), nullable=False),
        sa.Column("referred_at", dampwatch_core.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outbox_message_id", sa.Integer(), nullable=True),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["hazard_cases.id"], name=op.f("fk_referrals_case_id_hazard_cases")
        ),
        sa.ForeignKeyConstraint(
            ["consent_id"], ["consents.id"], name=op.f("fk_referrals_consent_id_consents")
        ),
        sa.ForeignKeyConstraint(
            ["outbox_message_id"], ["outbox.id"], name=op.f("fk_referrals_outbox_message_id_outbox")
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"], ["partners.id"], name=op.f("fk_referrals_partner_id_partners")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_referrals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("case_id", "partner_id", name=op.f("uq_referrals_case_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_referrals_reference")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_referrals_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_partner_id"), ["partner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_referrals_tenant_id"), ["tenant_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_referrals_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_partner_id"))
        batch_op.drop_index(batch_op.f("ix_referrals_case_id"))

    op.drop_table("referrals")
    with op.batch_alter_table("tenancies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenancies_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_tenancies_flat_id"))

    op.drop_table("tenancies")
    op.drop_table("partners")
    with op.batch_alter_table("consents", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_consents_current",
            sqlite_where=sa.text("withdrawn_at IS NULL"),
            postgresql_where=sa.text("withdrawn_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_consents_tenant_id"))

    op.drop_table("consents")
    op.drop_table("consent_holds")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenants_phone_lookup"))
        batch_op.drop_index(batch_op.f("ix_tenants_landlord"))

    op.drop_table("tenants")
