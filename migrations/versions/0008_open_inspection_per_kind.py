"""one open inspection per loan and kind

At most one open (requested or in progress) inspection per loan and kind, whatever starts it:
a partial unique index, on SQLite and PostgreSQL alike. Open duplicates a database may hold from
before (the API let a second routine or first inspection open) are closed first: the oldest stays
open, each newer one is cancelled with the reason saying so.

With it, the ids people choose (customers, loans, collaterals, vendors) never differ only in
case: case-insensitive unique indexes on ``lower(id)``. Ids that already differ only in case stop
the migration with the list, for a person to decide which record is the right one.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 01:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = "status IN ('requested', 'in_progress')"
NOCASE_IDS = ("customer", "loan", "collateral", "vendor")


def _close_open_duplicates() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        f"SELECT id, loan_id, kind FROM inspection WHERE {OPEN} ORDER BY loan_id, kind, "
        "created_at, id")).all()
    seen: set[tuple[str, str]] = set()
    for inspection_id, loan_id, kind in rows:
        if (loan_id, kind) not in seen:
            seen.add((loan_id, kind))
            continue
        bind.execute(sa.text(
            "UPDATE inspection SET status = 'cancelled', cancel_reason = :why WHERE id = :id"),
            {"id": inspection_id,
             "why": f"migration 0008: a second open {kind} inspection of loan {loan_id}; "
                    "the older one stays open"})


def _refuse_case_variants() -> None:
    bind = op.get_bind()
    clashes = []
    for table in NOCASE_IDS:
        clashes += [f"{table}: {ids}" for (ids,) in bind.execute(sa.text(
            f"SELECT min(id) || ' / ' || max(id) FROM {table} GROUP BY lower(id) "
            "HAVING count(*) > 1")).all()]
    if clashes:
        raise RuntimeError("ids differing only in case must be merged or renamed before "
                           "migration 0008: " + "; ".join(clashes))


def upgrade() -> None:
    _close_open_duplicates()
    _refuse_case_variants()
    op.create_index('uq_inspection_open_loan_kind', 'inspection', ['loan_id', 'kind'],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))
    for table in NOCASE_IDS:
        op.create_index(f'uq_{table}_id_nocase', table, [sa.text('lower(id)')], unique=True)


def downgrade() -> None:
    for table in reversed(NOCASE_IDS):
        op.drop_index(f'uq_{table}_id_nocase', table_name=table)
    op.drop_index('uq_inspection_open_loan_kind', table_name='inspection')
