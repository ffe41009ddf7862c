"""audit trail: append-only, hash-chained

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 01:00:00

Adds ``seq``, ``prev_hash`` and ``hash`` to ``audit_event`` and chains the rows already there in
id order; the one-row ``audit_chain_head``; an audit event sealing (with its SHA-256) every
inspection report stored before this revision; and triggers that refuse UPDATE and DELETE of
audit events (and TRUNCATE on PostgreSQL) and any step backwards of the head.

The hash is :func:`postloan.audit.entry_hash`, whose format is frozen (it must stay what this
migration wrote), so importing it here is safe.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from postloan.audit import GENESIS_HASH, entry_hash, sha256_of

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 1000
SEAL_ACTOR = "system:migration-0009"

audit_event = sa.table(
    'audit_event',
    sa.column('id', sa.Integer()), sa.column('seq', sa.Integer()),
    sa.column('at', sa.DateTime(timezone=True)), sa.column('actor', sa.String()),
    sa.column('action', sa.String()), sa.column('object_type', sa.String()),
    sa.column('object_id', sa.String()), sa.column('detail', sa.JSON()),
    sa.column('prev_hash', sa.String()), sa.column('hash', sa.String()),
)
inspection = sa.table('inspection', sa.column('id', sa.String()),
                      sa.column('report', sa.JSON()))

SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN "
    "SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event BEGIN "
    "SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END",
    "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head "
    "WHEN NEW.id != OLD.id OR NEW.seq < OLD.seq BEGIN "
    "SELECT RAISE(ABORT, 'audit_chain_head only moves forward'); END",
    "CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head BEGIN "
    "SELECT RAISE(ABORT, 'audit_chain_head cannot be deleted'); END",
)
POSTGRES_TRIGGERS = (
    """CREATE FUNCTION audit_event_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END $$""",
    "CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_refuse_change()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_refuse_change()",
    """CREATE FUNCTION audit_chain_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq < OLD.seq THEN
            RAISE EXCEPTION 'audit_chain_head only moves forward: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    END $$""",
    "CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head "
    "FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward()",
    "CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward()",
)


def _backfill(connection: sa.Connection) -> tuple[int, str]:
    """Chain the existing rows in id order, a chunk at a time; return the last seq and hash."""
    seq, prev_hash, after = 0, GENESIS_HASH, 0
    update = (audit_event.update().where(audit_event.c.id == sa.bindparam('row_id'))
              .values(seq=sa.bindparam('new_seq'), prev_hash=sa.bindparam('new_prev'),
                      hash=sa.bindparam('new_hash')))
    while True:
        rows = connection.execute(
            sa.select(audit_event).where(audit_event.c.id > after)
            .order_by(audit_event.c.id).limit(CHUNK)).all()
        if not rows:
            return seq, prev_hash
        params = []
        for row in rows:
            seq += 1
            digest = entry_hash(seq=seq, at=row.at, actor=row.actor, action=row.action,
                                object_type=row.object_type, object_id=row.object_id,
                                detail=row.detail, prev_hash=prev_hash)
            params.append({'row_id': row.id, 'new_seq': seq, 'new_prev': prev_hash,
                           'new_hash': digest})
            prev_hash = digest
        connection.execute(update, params)
        after = rows[-1].id


def _seal_reports(connection: sa.Connection, seq: int, prev_hash: str) -> tuple[int, str]:
    """One ``inspection.report_sealed`` event per report stored before the chain existed."""
    from postloan.db import utcnow

    after = ''
    while True:
        rows = connection.execute(
            sa.select(inspection.c.id, inspection.c.report)
            .where(inspection.c.report.is_not(None), inspection.c.id > after)
            .order_by(inspection.c.id).limit(CHUNK)).all()
        if not rows:
            return seq, prev_hash
        now = utcnow()
        entries = []
        for row in rows:
            seq += 1
            detail = {'report_sha256': sha256_of(row.report), 'sealed_by': 'migration 0009'}
            digest = entry_hash(seq=seq, at=now, actor=SEAL_ACTOR,
                                action='inspection.report_sealed', object_type='inspection',
                                object_id=row.id, detail=detail, prev_hash=prev_hash)
            entries.append({'seq': seq, 'at': now, 'actor': SEAL_ACTOR,
                            'action': 'inspection.report_sealed', 'object_type': 'inspection',
                            'object_id': row.id, 'detail': detail, 'prev_hash': prev_hash,
                            'hash': digest})
            prev_hash = digest
        connection.execute(audit_event.insert(), entries)
        after = rows[-1].id


def upgrade() -> None:
    connection = op.get_bind()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    seq, last_hash = _backfill(connection)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index('ix_audit_event_seq', ['seq'], unique=True)
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)
    seq, last_hash = _seal_reports(connection, seq, last_hash)
    head = op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head')),
    )
    op.bulk_insert(head, [{'id': 1, 'seq': seq, 'hash': last_hash}])
    triggers = POSTGRES_TRIGGERS if connection.dialect.name == 'postgresql' else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_chain_head")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_forward ON audit_chain_head")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_append_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head_forward()")
        op.execute("DROP FUNCTION IF EXISTS audit_event_refuse_change()")
    else:
        for name in ('audit_chain_head_no_delete', 'audit_chain_head_forward',
                     'audit_event_no_delete', 'audit_event_no_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_at')
        batch_op.drop_index('ix_audit_event_seq')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
