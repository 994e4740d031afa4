"""registry, intake, auth and change log

Revision ID: 0001
Revises:
Creates every table and seeds Kota Pekalongan (33.75).

Create Date: 2026-11-30 04:58:26.005881
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PEKALONGAN = [
    ("33", "Jawa Tengah", "provinsi", None),
    ("33.75", "Kota Pekalongan", "kabkota", "33"),
    ("33.75.01", "Pekalongan Barat", "kecamatan", "33.75"),
    ("33.75.02", "Pekalongan Timur", "kecamatan", "33.75"),
    ("33.75.03", "Pekalongan Utara", "kecamatan", "33.75"),
    ("33.75.04", "Pekalongan Selatan", "kecamatan", "33.75"),
    ("33.75.01.1002", "Medono", "kelurahan", "33.75.01"),
    ("33.75.01.1003", "Podosugih", "kelurahan", "33.75.01"),
    ("33.75.01.1004", "Sapuro Kebulen", "kelurahan", "33.75.01"),
    ("33.75.01.1006", "Bendan Kergon", "kelurahan", "33.75.01"),
    ("33.75.01.1008", "Pasirkratonkramat", "kelurahan", "33.75.01"),
    ("33.75.01.1009", "Tirto", "kelurahan", "33.75.01"),
    ("33.75.01.1012", "Pringrejo", "kelurahan", "33.75.01"),
    ("33.75.02.1002", "Noyontaansari", "kelurahan", "33.75.02"),
    ("33.75.02.1004", "Kauman", "kelurahan", "33.75.02"),
    ("33.75.02.1007", "Poncol", "kelurahan", "33.75.02"),
    ("33.75.02.1008", "Klego", "kelurahan", "33.75.02"),
    ("33.75.02.1009", "Gamer", "kelurahan", "33.75.02"),
    ("33.75.02.1010", "Setono", "kelurahan", "33.75.02"),
    ("33.75.02.1012", "Kali Baros", "kelurahan", "33.75.02"),
    ("33.75.03.1002", "Krapyak", "kelurahan", "33.75.03"),
    ("33.75.03.1003", "Kandang Panjang", "kelurahan", "33.75.03"),
    ("33.75.03.1004", "Panjang Wetan", "kelurahan", "33.75.03"),
    ("33.75.03.1006", "Padukuhan Kraton", "kelurahan", "33.75.03"),
    ("33.75.03.1007", "Degayu", "kelurahan", "33.75.03"),
    ("33.75.03.1009", "Bandengan", "kelurahan", "33.75.03"),
    ("33.75.03.1010", "Panjang Baru", "kelurahan", "33.75.03"),
    ("33.75.04.1002", "Banyurip", "kelurahan", "33.75.04"),
    ("33.75.04.1003", "Buaran Kradenan", "kelurahan", "33.75.04"),
    ("33.75.04.1004", "Jenggot", "kelurahan", "33.75.04"),
    ("33.75.04.1006", "Kuripan Kertoharjo", "kelurahan", "33.75.04"),
    ("33.75.04.1008", "Kuripan Yosorejo", "kelurahan", "33.75.04"),
    ("33.75.04.1010", "Sokoduwet", "kelurahan", "33.75.04"),
]


def upgrade() -> None:
    op.create_table(
        "change_log",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("op", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_change_log")),
    )
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_change_log_kelurahan_seq", ["kelurahan_code", "seq"], unique=False
        )

    op.create_table(
        "form_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("md5", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("media", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_version")),
        sa.UniqueConstraint("form_id", "version", name=op.f("uq_form_version_form_id_version")),
    )
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_version_form_id"), ["form_id"], unique=False)

    op.create_table(
        "server_setting",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_server_setting")),
    )
    op.create_table(
        "user_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("agency", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_account")),
        sa.UniqueConstraint("username", name=op.f("uq_user_account_username")),
    )
    op.create_table(
        "wilayah",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("parent_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True),
        sa.ForeignKeyConstraint(
            ["parent_code"], ["wilayah.code"], name=op.f("fk_wilayah_parent_code_wilayah")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_wilayah")),
    )
    with op.batch_alter_table("wilayah", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_wilayah_level"), ["level"], unique=False)
        batch_op.create_index(batch_op.f("ix_wilayah_parent_code"), ["parent_code"], unique=False)

    op.create_table(
        "app_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("label", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_app_token_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_app_token_token_hash")),
    )
    with op.batch_alter_table("app_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_app_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entity_type", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_audit_log_actor_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "household",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kk", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("head_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("rt", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("rw", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kelurahan_code"], ["wilayah.code"], name=op.f("fk_household_kelurahan_code_wilayah")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["household.id"], name=op.f("fk_household_merged_into_id_household")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_household")),
    )
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_household_kelurahan_code"), ["kelurahan_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_household_kk"), ["kk"], unique=False)

    op.create_table(
        "kobo_hook",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submitter_id"],
            ["user_account.id"],
            name=op.f("fk_kobo_hook_submitter_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kobo_hook")),
    )
    op.create_table(
        "posyandu",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("rw", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kelurahan_code"], ["wilayah.code"], name=op.f("fk_posyandu_kelurahan_code_wilayah")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posyandu")),
        sa.UniqueConstraint("kelurahan_code", "name", name=op.f("uq_posyandu_kelurahan_code_name")),
    )
    with op.batch_alter_table("posyandu", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_posyandu_kelurahan_code"), ["kelurahan_code"], unique=False
        )

    op.create_table(
        "person",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("nik", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("sex", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("birth_date_estimated", sa.Boolean(), nullable=False),
        sa.Column("mother_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("household_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"], ["household.id"], name=op.f("fk_person_household_id_household")
        ),
        sa.ForeignKeyConstraint(
            ["kelurahan_code"], ["wilayah.code"], name=op.f("fk_person_kelurahan_code_wilayah")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["person.id"], name=op.f("fk_person_merged_into_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["mother_id"], ["person.id"], name=op.f("fk_person_mother_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["posyandu_id"], ["posyandu.id"], name=op.f("fk_person_posyandu_id_posyandu")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_household_id"), ["household_id"], unique=False)
        batch_op.create_index(
            "ix_person_kelurahan_name", ["kelurahan_code", "name_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_person_nik"), ["nik"], unique=False)
        batch_op.create_index("ix_person_posyandu", ["posyandu_id"], unique=False)

    op.create_table(
        "submission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("form_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("form_version", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("instance_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("deprecated_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("submitter_id", sa.Integer(), nullable=True),
        sa.Column("app_token_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_token_id"], ["app_token.id"], name=op.f("fk_submission_app_token_id_app_token")
        ),
        sa.ForeignKeyConstraint(
            ["submitter_id"],
            ["user_account.id"],
            name=op.f("fk_submission_submitter_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submission")),
        sa.UniqueConstraint(
            "form_id", "instance_id", name=op.f("uq_submission_form_id_instance_id")
        ),
    )
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_submission_deprecated_id"), ["deprecated_id"], unique=False
        )
        batch_op.create_index("ix_submission_status", ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_submission_submitter_id"), ["submitter_id"], unique=False
        )

    op.create_table(
        "user_scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("wilayah_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["posyandu_id"], ["posyandu.id"], name=op.f("fk_user_scope_posyandu_id_posyandu")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_user_scope_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["wilayah_code"], ["wilayah.code"], name=op.f("fk_user_scope_wilayah_code_wilayah")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_scope")),
        sa.UniqueConstraint(
            "user_id",
            "wilayah_code",
            "posyandu_id",
            name=op.f("uq_user_scope_user_id_wilayah_code_posyandu_id"),
        ),
    )
    with op.batch_alter_table("user_scope", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_scope_user_id"), ["user_id"], unique=False)

    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_attachment_submission_id_submission"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachment")),
        sa.UniqueConstraint("submission_id", "name", name=op.f("uq_attachment_submission_id_name")),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attachment_submission_id"), ["submission_id"], unique=False
        )

    op.create_table(
        "household_version",
        sa.Column("household_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["user_account.id"],
            name=op.f("fk_household_version_changed_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_household_version_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_household_version_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("household_id", "version", name=op.f("pk_household_version")),
    )
    op.create_table(
        "measurement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.Column("measured_on", sa.Date(), nullable=False),
        sa.Column("age_days", sa.Integer(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("length_height_cm", sa.Float(), nullable=True),
        sa.Column("measure_method", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column("muac_cm", sa.Float(), nullable=True),
        sa.Column("oedema", sa.Boolean(), nullable=False),
        sa.Column("clenhei", sa.Float(), nullable=True),
        sa.Column("zlen", sa.Float(), nullable=True),
        sa.Column("flen", sa.Integer(), nullable=True),
        sa.Column("zwei", sa.Float(), nullable=True),
        sa.Column("fwei", sa.Integer(), nullable=True),
        sa.Column("zwfl", sa.Float(), nullable=True),
        sa.Column("fwfl", sa.Integer(), nullable=True),
        sa.Column("zbmi", sa.Float(), nullable=True),
        sa.Column("fbmi", sa.Integer(), nullable=True),
        sa.Column("zac", sa.Float(), nullable=True),
        sa.Column("fac", sa.Integer(), nullable=True),
        sa.Column("bbu_category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("tbu_category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("bbtb_category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("imtu_category", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("stunted", sa.Boolean(), nullable=True),
        sa.Column("severely_stunted", sa.Boolean(), nullable=True),
        sa.Column("wasted", sa.Boolean(), nullable=True),
        sa.Column("underweight", sa.Boolean(), nullable=True),
        sa.Column("overweight", sa.Boolean(), nullable=True),
        sa.Column("age_group", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
        sa.Column(
            "plausibility_flags", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False
        ),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kelurahan_code"], ["wilayah.code"], name=op.f("fk_measurement_kelurahan_code_wilayah")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_measurement_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["posyandu_id"], ["posyandu.id"], name=op.f("fk_measurement_posyandu_id_posyandu")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_measurement_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_measurement")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_measurement_submission_id")),
    )
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.create_index(
            "ix_measurement_kelurahan_date", ["kelurahan_code", "measured_on"], unique=False
        )
        batch_op.create_index(
            "ix_measurement_person_date", ["person_id", "measured_on"], unique=False
        )

    op.create_table(
        "person_version",
        sa.Column("person_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["user_account.id"],
            name=op.f("fk_person_version_changed_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_version_person_id_person")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_person_version_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("person_id", "version", name=op.f("pk_person_version")),
    )
    op.create_table(
        "pregnancy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("woman_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("estimated_conception_on", sa.Date(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kelurahan_code"], ["wilayah.code"], name=op.f("fk_pregnancy_kelurahan_code_wilayah")
        ),
        sa.ForeignKeyConstraint(
            ["woman_id"], ["person.id"], name=op.f("fk_pregnancy_woman_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pregnancy")),
    )
    with op.batch_alter_table("pregnancy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pregnancy_woman_id"), ["woman_id"], unique=False)

    op.create_table(
        "sanitation_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("household_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("latrine_access", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("latrine_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("waste_disposal", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("handwashing_soap", sa.Boolean(), nullable=True),
        sa.Column(
            "drinking_water_source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True
        ),
        sa.Column("water_treated", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("waste_bin", sa.Boolean(), nullable=True),
        sa.Column("wastewater_drain", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("stop_babs", sa.Boolean(), nullable=True),
        sa.Column("ctps", sa.Boolean(), nullable=True),
        sa.Column("pamm_rt", sa.Boolean(), nullable=True),
        sa.Column("ps_rt", sa.Boolean(), nullable=True),
        sa.Column("plc_rt", sa.Boolean(), nullable=True),
        sa.Column("jamban_sehat", sa.Boolean(), nullable=True),
        sa.Column("sanitasi_layak", sa.Boolean(), nullable=True),
        sa.Column("air_minum_layak", sa.Boolean(), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["household.id"],
            name=op.f("fk_sanitation_check_household_id_household"),
        ),
        sa.ForeignKeyConstraint(
            ["kelurahan_code"],
            ["wilayah.code"],
            name=op.f("fk_sanitation_check_kelurahan_code_wilayah"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_sanitation_check_submission_id_submission"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sanitation_check")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_sanitation_check_submission_id")),
    )
    with op.batch_alter_table("sanitation_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sanitation_check_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            "ix_sanitation_check_kelurahan_date", ["kelurahan_code", "checked_on"], unique=False
        )

    op.create_table(
        "pregnancy_screening",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("woman_id", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("pregnancy_id", sa.Integer(), nullable=True),
        sa.Column("kelurahan_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("posyandu_id", sa.Integer(), nullable=True),
        sa.Column("screened_on", sa.Date(), nullable=False),
        sa.Column("pregnant", sa.Boolean(), nullable=False),
        sa.Column("gestational_age_weeks", sa.Integer(), nullable=True),
        sa.Column("muac_cm", sa.Float(), nullable=True),
        sa.Column("hb_g_dl", sa.Float(), nullable=True),
        sa.Column("height_cm", sa.Float(), nullable=True),
        sa.Column("weight_kg", sa.Float(), nullable=True),
        sa.Column("age_years", sa.Integer(), nullable=True),
        sa.Column("bmi", sa.Float(), nullable=True),
        sa.Column("kek", sa.Boolean(), nullable=True),
        sa.Column("anaemia", sa.Boolean(), nullable=True),
        sa.Column("anaemia_severity", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("risk_age_under_20", sa.Boolean(), nullable=True),
        sa.Column("risk_age_over_35", sa.Boolean(), nullable=True),
        sa.Column("risk_short_stature", sa.Boolean(), nullable=True),
        sa.Column("risk_low_bmi", sa.Boolean(), nullable=True),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["kelurahan_code"],
            ["wilayah.code"],
            name=op.f("fk_pregnancy_screening_kelurahan_code_wilayah"),
        ),
        sa.ForeignKeyConstraint(
            ["posyandu_id"],
            ["posyandu.id"],
            name=op.f("fk_pregnancy_screening_posyandu_id_posyandu"),
        ),
        sa.ForeignKeyConstraint(
            ["pregnancy_id"],
            ["pregnancy.id"],
            name=op.f("fk_pregnancy_screening_pregnancy_id_pregnancy"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submission.id"],
            name=op.f("fk_pregnancy_screening_submission_id_submission"),
        ),
        sa.ForeignKeyConstraint(
            ["woman_id"], ["person.id"], name=op.f("fk_pregnancy_screening_woman_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pregnancy_screening")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_pregnancy_screening_submission_id")),
    )
    with op.batch_alter_table("pregnancy_screening", schema=None) as batch_op:
        batch_op.create_index(
            "ix_pregnancy_screening_kelurahan_date", ["kelurahan_code", "screened_on"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pregnancy_screening_woman_id"), ["woman_id"], unique=False
        )

    # Kota Pekalongan (33.75): the city this service starts with. The whole country can
    # be added with `posyandu-sync wilayah import`. Source: Kemendagri codes via
    # idn-area-data 4.0.1 (ODbL).
    wilayah = sa.table(
        "wilayah",
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("level", sa.String),
        sa.column("parent_code", sa.String),
    )
    op.bulk_insert(
        wilayah,
        [dict(zip(("code", "name", "level", "parent_code"), row)) for row in PEKALONGAN],
    )


def downgrade() -> None:
    with op.batch_alter_table("pregnancy_screening", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pregnancy_screening_woman_id"))
        batch_op.drop_index("ix_pregnancy_screening_kelurahan_date")

    op.drop_table("pregnancy_screening")
    with op.batch_alter_table("sanitation_check", schema=None) as batch_op:
        batch_op.drop_index("ix_sanitation_check_kelurahan_date")
        batch_op.drop_index(batch_op.f("ix_sanitation_check_household_id"))

    op.drop_table("sanitation_check")
    with op.batch_alter_table("pregnancy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pregnancy_woman_id"))

    op.drop_table("pregnancy")
    op.drop_table("person_version")
    with op.batch_alter_table("measurement", schema=None) as batch_op:
        batch_op.drop_index("ix_measurement_person_date")
        batch_op.drop_index("ix_measurement_kelurahan_date")

    op.drop_table("measurement")
    op.drop_table("household_version")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_submission_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("user_scope", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_scope_user_id"))

    op.drop_table("user_scope")
    with op.batch_alter_table("submission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_submission_submitter_id"))
        batch_op.drop_index("ix_submission_status")
        batch_op.drop_index(batch_op.f("ix_submission_deprecated_id"))

    op.drop_table("submission")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_posyandu")
        batch_op.drop_index(batch_op.f("ix_person_nik"))
        batch_op.drop_index("ix_person_kelurahan_name")
        batch_op.drop_index(batch_op.f("ix_person_household_id"))

    op.drop_table("person")
    with op.batch_alter_table("posyandu", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_posyandu_kelurahan_code"))

    op.drop_table("posyandu")
    op.drop_table("kobo_hook")
    with op.batch_alter_table("household", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_household_kk"))
        batch_op.drop_index(batch_op.f("ix_household_kelurahan_code"))

    op.drop_table("household")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("app_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_app_token_user_id"))

    op.drop_table("app_token")
    with op.batch_alter_table("wilayah", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wilayah_parent_code"))
        batch_op.drop_index(batch_op.f("ix_wilayah_level"))

    op.drop_table("wilayah")
    op.drop_table("user_account")
    op.drop_table("server_setting")
    with op.batch_alter_table("form_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_version_form_id"))

    op.drop_table("form_version")
    with op.batch_alter_table("change_log", schema=None) as batch_op:
        batch_op.drop_index("ix_change_log_kelurahan_seq")

    op.drop_table("change_log")
