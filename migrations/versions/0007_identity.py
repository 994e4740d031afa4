"""Identity resolution: decisions with evidence, duplicate candidate pairs, reversible
merges; the person's phonetic name key and the blocking indexes

Revision ID: 0007_identity
Revises: 0006_offline
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_identity"
down_revision: str | None = "0006_offline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sa.String
_TS = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", name=f"fk_{table}_{column}_{target}")


def upgrade() -> None:
    with op.batch_alter_table("person") as batch:
        batch.add_column(sa.Column("name_block", _S(8), nullable=False, server_default=""))
    _backfill_name_block()
    op.create_index("ix_person_kelurahan_birth", "person", ["kelurahan_code", "birth_date"])
    op.create_index("ix_person_block_kelurahan_birth", "person",
                    ["name_block", "kelurahan_code", "birth_date"])
    op.create_index("ix_person_mother", "person", ["mother_id"])

    op.create_table(
        "identity_decision",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity", _S(16), nullable=False),
        sa.Column("role", _S(16), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", _S(40), nullable=False),
        sa.Column("outcome", _S(16), nullable=False),
        sa.Column("rule", _S(32), nullable=False),
        sa.Column("subject_id", _S(36), nullable=False),
        sa.Column("candidate_id", _S(36), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("cross_scope", sa.Boolean(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identity_decision"),
    )
    op.create_index("ix_identity_decision_submission_role", "identity_decision",
                    ["submission_id", "role"])
    op.create_table(
        "duplicate_pair",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity", _S(16), nullable=False),
        sa.Column("a_id", _S(36), nullable=False),
        sa.Column("b_id", _S(36), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("band", _S(16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("cross_scope", sa.Boolean(), nullable=False),
        sa.Column("source", _S(16), nullable=False),
        sa.Column("status", _S(16), nullable=False),
        sa.Column("submission_id", sa.Integer(), _fk("duplicate_pair", "submission_id",
                                                      "submission"), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("decided_by", sa.Integer(), _fk("duplicate_pair", "decided_by",
                                                   "user_account"), nullable=True),
        sa.Column("decided_at", _TS, nullable=True),
        sa.Column("merge_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_duplicate_pair"),
        sa.UniqueConstraint("entity", "a_id", "b_id", name="uq_duplicate_pair_entity_a_id_b_id"),
    )
    op.create_index("ix_duplicate_pair_status_score", "duplicate_pair", ["status", "score"])
    op.create_index("ix_duplicate_pair_b_id", "duplicate_pair", ["b_id"])
    op.create_table(
        "record_merge",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("entity", _S(16), nullable=False),
        sa.Column("kind", _S(16), nullable=False),
        sa.Column("survivor_id", _S(36), nullable=False),
        sa.Column("absorbed_id", _S(36), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=True),
        sa.Column("submission_id", sa.Integer(), _fk("record_merge", "submission_id",
                                                      "submission"), nullable=True),
        sa.Column("status", _S(16), nullable=False),
        sa.Column("survivor_before", sa.JSON(), nullable=False),
        sa.Column("survivor_written", sa.JSON(), nullable=False),
        sa.Column("absorbed_before", sa.JSON(), nullable=False),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.Integer(), _fk("record_merge", "actor_id", "user_account"),
                  nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("undone_by", sa.Integer(), _fk("record_merge", "undone_by", "user_account"),
                  nullable=True),
        sa.Column("undone_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_record_merge"),
    )
    op.create_index("ix_record_merge_absorbed", "record_merge", ["absorbed_id"])
    op.create_index("ix_record_merge_survivor", "record_merge", ["survivor_id"])


def _backfill_name_block() -> None:
    from matching.names import phonetic_key

    conn = op.get_bind()
    person = sa.table("person", sa.column("id", _S), sa.column("name", _S),
                      sa.column("name_block", _S))
    rows = conn.execute(sa.select(person.c.id, person.c.name)).all()
    updates = [{"_id": pid, "block": phonetic_key(name)[:8]} for pid, name in rows]
    statement = person.update().where(person.c.id == sa.bindparam("_id")).values(
        name_block=sa.bindparam("block"))
    for start in range(0, len(updates), 5000):
        if updates[start:start + 5000]:
            conn.execute(statement, updates[start:start + 5000])


def downgrade() -> None:
    op.drop_table("record_merge")
    op.drop_table("duplicate_pair")
    op.drop_table("identity_decision")
    op.drop_index("ix_person_mother", "person")
    op.drop_index("ix_person_block_kelurahan_birth", "person")
    op.drop_index("ix_person_kelurahan_birth", "person")
    with op.batch_alter_table("person") as batch:
        batch.drop_column("name_block")
