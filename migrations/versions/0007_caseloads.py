"""Caseloads: aggregates per (kelurahan, period), each subject's contributions, case
lists, targets (seeded: Kota Pekalongan 14.88% 2023, 12.24% 2024; national 14% 2024),
interventions, programmes granted to agency accounts; catin on screenings

Revision ID: 0007_caseloads
Revises: 0006_offline
Create Date: 2026-12-04 18:10:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from indicators.caseload import METRICS

revision: str = "0007_caseloads"
down_revision: str | None = "0007_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sa.String
SEED_TARGETS = [("33.75", 2023, 0.1488), ("33.75", 2024, 0.1224), ("ID", 2024, 0.14)]


def upgrade() -> None:
    with op.batch_alter_table("pregnancy_screening") as batch:
        batch.add_column(sa.Column("catin", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("planned_marriage_date", sa.Date(), nullable=True))
    op.create_table(
        "caseload_aggregate",
        sa.Column("kelurahan_code", _S(13), nullable=False),
        sa.Column("period", _S(7), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
          for name in METRICS),
        sa.PrimaryKeyConstraint("kelurahan_code", "period", name="pk_caseload_aggregate"),
    )
    op.create_index("ix_caseload_aggregate_period_kelurahan", "caseload_aggregate",
                    ["period", "kelurahan_code"])
    op.create_table(
        "caseload_contribution",
        sa.Column("subject_kind", _S(10), nullable=False),
        sa.Column("subject_id", _S(36), nullable=False),
        sa.Column("period", _S(7), nullable=False),
        sa.Column("kelurahan_code", _S(13), nullable=False),
        sa.Column("household_id", _S(36), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("subject_kind", "subject_id", "period", "kelurahan_code",
                                name="pk_caseload_contribution"),
    )
    op.create_table(
        "caseload_case",
        sa.Column("program", _S(20), nullable=False),
        sa.Column("period", _S(7), nullable=False),
        sa.Column("subject_kind", _S(10), nullable=False),
        sa.Column("subject_id", _S(36), nullable=False),
        sa.Column("kelurahan_code", _S(13), nullable=False),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.Column("reasons", _S(255), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("program", "period", "subject_kind", "subject_id",
                                name="pk_caseload_case"),
    )
    op.create_index("ix_caseload_case_list", "caseload_case",
                    ["program", "period", "kelurahan_code", "subject_id"])
    op.create_index("ix_caseload_case_subject", "caseload_case", ["subject_id"])
    op.create_index("ix_person_merged_into_id", "person", ["merged_into_id"])
    target = op.create_table(
        "caseload_target",
        sa.Column("wilayah_code", _S(13), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("stunting_prevalence", sa.Float(), nullable=False),
        sa.Column("set_by", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_caseload_target_set_by_user_account"), nullable=True),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("wilayah_code", "year", name="pk_caseload_target"),
    )
    now = datetime.now(UTC)
    op.bulk_insert(target, [{"wilayah_code": code, "year": year, "stunting_prevalence": value,
                             "set_by": None, "set_at": now} for code, year, value in SEED_TARGETS])
    op.create_table(
        "intervention",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("program", _S(20), nullable=False),
        sa.Column("type", _S(32), nullable=False),
        sa.Column("delivered_on", sa.Date(), nullable=False),
        sa.Column("person_id", _S(36), sa.ForeignKey(
            "person.id", name="fk_intervention_person_id_person"), nullable=True),
        sa.Column("household_id", _S(36), sa.ForeignKey(
            "household.id", name="fk_intervention_household_id_household"), nullable=True),
        sa.Column("kelurahan_code", _S(13), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("unit", _S(32), nullable=True),
        sa.Column("notes", _S(1000), nullable=True),
        sa.Column("agency", _S(120), nullable=True),
        sa.Column("recorded_by", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_intervention_recorded_by_user_account"), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_intervention_deleted_by_user_account"), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_intervention"),
    )
    op.create_index("ix_intervention_person_id", "intervention", ["person_id"])
    op.create_index("ix_intervention_household_id", "intervention", ["household_id"])
    op.create_index("ix_intervention_kelurahan_delivered", "intervention",
                    ["kelurahan_code", "delivered_on"])
    op.create_table(
        "user_program",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey(
            "user_account.id", name="fk_user_program_user_id_user_account", ondelete="CASCADE"),
            nullable=False),
        sa.Column("program", _S(20), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "program", name="pk_user_program"),
    )


def downgrade() -> None:
    op.drop_table("user_program")
    op.drop_index("ix_intervention_kelurahan_delivered", table_name="intervention")
    op.drop_index("ix_intervention_household_id", table_name="intervention")
    op.drop_index("ix_intervention_person_id", table_name="intervention")
    op.drop_table("intervention")
    op.drop_table("caseload_target")
    op.drop_index("ix_person_merged_into_id", table_name="person")
    op.drop_index("ix_caseload_case_subject", table_name="caseload_case")
    op.drop_index("ix_caseload_case_list", table_name="caseload_case")
    op.drop_table("caseload_case")
    op.drop_table("caseload_contribution")
    op.drop_index("ix_caseload_aggregate_period_kelurahan", table_name="caseload_aggregate")
    op.drop_table("caseload_aggregate")
    with op.batch_alter_table("pregnancy_screening") as batch:
        batch.drop_column("planned_marriage_date")
        batch.drop_column("catin")
