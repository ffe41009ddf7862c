"""Bulk import: validate every row first, then insert with SQLAlchemy core bulk inserts.

All in the caller's transaction: the caller commits after a successful import, and any failure
leaves nothing behind (the importer rolls the session back when the database itself refuses a
batch). Memory stays bounded: files are streamed in batches; only the ids of the current batch
are looked up.
"""

from __future__ import annotations

import logging
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from pathlib import Path
from typing import Any, get_origin

from pydantic import BaseModel, ValidationError
from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from tqdm import tqdm

from postloan import audit
from postloan.application import facts
from postloan.application.ports import UserDirectory
from postloan.customers import references
from postloan.db import utcnow
from postloan.errors import InvalidInput
from postloan.importer.kinds import KINDS, ORDER, Key, Kind, existing_ids, existing_keys
from postloan.importer.reading import Raw, ReadError, count_rows, read_rows
from postloan.loans import buckets

log = logging.getLogger("postloan.importer")

BATCH = 5000
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, field {self.field}: {self.message}"


class ImportFailed(InvalidInput):
    """The file has bad rows; nothing was imported. ``problems`` name line and field of each."""

    def __init__(self, kind: str, problems: list[Problem], *, more: bool = False) -> None:
        self.kind, self.problems = kind, problems
        first = problems[0]
        text = "; ".join(str(p) for p in problems) + ("; ..." if more else "")
        super().__init__(f"{kind}: nothing imported: {text}", field=first.field)
        self.line = first.line


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    inserted: int = 0
    skipped: int = 0
    seconds: float = 0.0
    bucket_moves: int = 0
    #: fact_checks starts owed for the inserted facts; why none, when they were left
    fact_checks: int = 0
    fact_checks_left: str = ""

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        text = (
            f"{self.kind}: {self.rows} rows ({self.inserted} inserted, {self.skipped} "
            f"already stored) in {self.seconds:.1f} s, {self.rows_per_second:,.0f} rows/s"
        )
        if self.bucket_moves:
            text += f"; {self.bucket_moves} loans changed bucket"
        if self.fact_checks:
            text += f"; {self.fact_checks} fact checks started"
        if self.fact_checks_left:
            text += f"; {self.fact_checks_left}"
        return text


@dataclass
class _Batch:
    lines: list[int] = field(default_factory=list)
    models: list[Any] = field(default_factory=list)


def _json_fields(model: type[BaseModel]) -> frozenset[str]:
    """Fields holding lists or objects: in CSV their cells are JSON."""
    return frozenset(
        name
        for name, info in model.model_fields.items()
        if get_origin(info.annotation) in (list, dict) or "list[" in str(info.annotation)
    )


def _problems_of(line: int, exc: ValidationError) -> list[Problem]:
    return [
        Problem(line, ".".join(str(p) for p in e["loc"]) or "line", e["msg"]) for e in exc.errors()
    ]


class Importer:
    """Validate and insert rows of one kind (or a whole portfolio) with the given row models.

    ``models`` maps a kind name to the pydantic model validating its rows: the API's input
    models (``api.import_rows.ROW_MODELS``), so file rows and REST calls obey the same rules
    (branch, rating and product of the configuration included). With a ``directory`` (the
    engine's users), every customer's account manager must be a member of account-managers,
    as over REST: one look-up per batch for all its distinct names (cached by the directory),
    never one per row. Without one (tools and tests with no engine) that check is skipped.
    """

    def __init__(
        self,
        session: Session,
        models: Mapping[str, type[BaseModel]],
        *,
        actor: str = "import",
        batch: int = BATCH,
        progress: bool = False,
        as_of: date | None = None,
        directory: UserDirectory | None = None,
    ) -> None:
        self.directory = directory
        unknown = set(KINDS) - set(models)
        if unknown:
            raise ValueError(f"no row model for {', '.join(sorted(unknown))}")
        self.session, self.models, self.actor = session, models, actor
        self.batch, self.progress = batch, progress
        self.as_of = as_of or date.today()

    # -- files --------------------------------------------------------------------------

    def import_file(self, kind: str, path: Path) -> ImportResult:
        """Validate the whole file, then insert it; ``ImportFailed`` names bad lines and fields."""
        spec = self._kind(kind)
        json_fields = _json_fields(self.models[kind])
        total = count_rows(path)

        def source() -> Iterator[Raw]:
            return read_rows(path, json_fields)

        return self.import_rows(spec.name, source, total=total, origin=path.name)

    def import_rows(
        self,
        kind: str,
        source: Callable[[], Iterable[Raw]],
        *,
        total: int | None = None,
        origin: str = "records",
    ) -> ImportResult:
        """Two passes over ``source()``: validate everything, then insert in bulk."""
        spec = self._kind(kind)
        started = time.perf_counter()
        self.validate(spec, source, total)
        watermark = facts.fact_watermark(self.session, spec.fact) if spec.fact else None
        result = self._insert(spec, source, total)
        if spec.name == "repayments":
            result.bucket_moves = buckets.refresh_portfolio(self.session, self.as_of)
        if spec.after_import is not None:
            spec.after_import(self.session, self.actor)
        checks: dict[str, Any] = {}
        if spec.fact is not None:
            # the checks the inserted facts feed, bounded (config/fact_checks.yaml)
            owed = facts.enqueue_imported(self.session, spec.fact, watermark)
            result.fact_checks, result.fact_checks_left = owed.started, owed.left
            checks = owed.detail()
        audit.record(
            self.session,
            actor=self.actor,
            action="bulk_import.completed",
            object_type="import",
            object_id=spec.name,
            detail={
                "origin": origin,
                "rows": result.rows,
                "inserted": result.inserted,
                "skipped": result.skipped,
                **checks,
            },
        )
        self.session.flush()
        result.seconds = time.perf_counter() - started
        log.debug("import %s", result.summary())
        return result

    # -- validation ---------------------------------------------------------------------

    def validate(
        self, spec: Kind, source: Callable[[], Iterable[Raw]], total: int | None = None
    ) -> int:
        """Check every row (fields, business rules, references, keys already stored)."""
        problems: list[Problem] = []
        rows = 0
        bar = self._bar(f"validating {spec.name}", total)
        try:
            for batch in self._batches(spec, source(), problems):
                rows += len(batch.lines)
                bar.update(len(batch.lines))
                problems.extend(self._check_batch(spec, batch))
                if len(problems) > MAX_PROBLEMS:
                    break
        except ReadError as exc:
            problems.append(Problem(exc.line, exc.field, exc.message))
        finally:
            bar.close()
        if problems:
            problems.sort(key=lambda p: p.line)
            raise ImportFailed(
                spec.name, problems[:MAX_PROBLEMS], more=len(problems) > MAX_PROBLEMS
            )
        return rows

    def _batches(
        self, spec: Kind, raws: Iterable[Raw], problems: list[Problem]
    ) -> Iterator[_Batch]:
        model = self.models[spec.name]
        iterator = iter(raws)
        while chunk := list(islice(iterator, self.batch)):
            batch = _Batch()
            for line, raw in chunk:
                try:
                    validated = model.model_validate(raw)
                except ValidationError as exc:
                    problems.extend(_problems_of(line, exc))
                    continue
                rule = spec.check(validated)
                if rule is not None:
                    problems.append(Problem(line, *rule))
                    continue
                batch.lines.append(line)
                batch.models.append(validated)
            yield batch

    def _unknown_managers(self, spec: Kind, batch: _Batch) -> list[Problem]:
        """Customers whose account manager the engine does not know in account-managers."""
        if spec.name != "customers" or self.directory is None or not batch.models:
            return []
        wanted = {m.account_manager for m in batch.models}
        known = self.directory.members_of(references.ACCOUNT_MANAGERS_GROUP, wanted)
        unknown = references.unknown_account_managers(wanted, known)
        return [
            Problem(line, "account_manager", references.account_manager_problem(m.account_manager))
            for line, m in zip(batch.lines, batch.models, strict=True)
            if m.account_manager in unknown
        ]

    def _check_batch(self, spec: Kind, batch: _Batch) -> list[Problem]:
        problems = self._unknown_managers(spec, batch)
        for ref in spec.references:
            values = [getattr(m, ref.field) for m in batch.models]
            known = existing_ids(self.session, ref.column, values)
            problems += [
                Problem(line, ref.field, f"{ref.column.table.name} {value!r} does not exist")
                for line, value in zip(batch.lines, values, strict=True)
                if value not in known
            ]
        if not spec.skip_existing:
            stored = existing_keys(self.session, spec, (spec.key(m) for m in batch.models))
            problems += [
                Problem(
                    line,
                    spec.duplicate_field or spec.key_columns[-1],
                    f"{spec.name.rstrip('s')} {_show(spec.key(m))} already exists",
                )
                for line, m in zip(batch.lines, batch.models, strict=True)
                if spec.key(m) in stored
            ]
        extra = [
            (line, *e)
            for line, m in zip(batch.lines, batch.models, strict=True)
            for e in spec.extra_keys(m)
        ]
        if extra:
            taken = existing_ids(
                self.session, extra[0][2], (e[3] for e in extra), nocase=spec.nocase
            )
            problems += [
                Problem(line, name, f"{value!r} already exists")
                for line, name, _column, value in extra
                if value in taken
            ]
        problems += [
            Problem(batch.lines[index], name, message)
            for index, name, message in spec.stored_check(self.session, batch.models)
        ]
        return problems

    # -- insertion ----------------------------------------------------------------------

    def _insert(
        self, spec: Kind, source: Callable[[], Iterable[Raw]], total: int | None
    ) -> ImportResult:
        result = ImportResult(spec.name)
        seen: set[Key] = set()  # only for kinds that skip duplicates (small: events)
        bar = self._bar(f"importing {spec.name}", total)
        try:
            for batch in self._batches(spec, source(), []):
                result.rows += len(batch.models)
                models, lines = batch.models, batch.lines
                if spec.skip_existing:
                    stored = existing_keys(self.session, spec, (spec.key(m) for m in models))
                    keep = []
                    for line, m in zip(lines, models, strict=True):
                        key = spec.key(m)
                        if key not in stored and key not in seen:
                            seen.add(key)
                            keep.append((line, m))
                    result.skipped += len(models) - len(keep)
                    lines, models = [k[0] for k in keep], [k[1] for k in keep]
                try:
                    self._write(spec, models)
                except IntegrityError as exc:
                    self.session.rollback()
                    raise ImportFailed(spec.name, [self._locate(spec, source, lines, exc)]) from exc
                result.inserted += len(models)
                bar.update(len(batch.lines))
        finally:
            bar.close()
        return result

    def _write(self, spec: Kind, models: list[Any]) -> None:
        now = utcnow()
        rows: dict[Table, list[dict[str, Any]]] = defaultdict(list)
        for m in models:
            for table, row in spec.to_rows(m, now):
                rows[table].append(row)
        connection = self.session.connection()
        for table in spec.tables:
            if rows[table]:
                connection.execute(table.insert(), rows[table])

    def _locate(
        self, spec: Kind, source: Callable[[], Iterable[Raw]], lines: list[int], exc: IntegrityError
    ) -> Problem:
        """Find the row the database refused: a key repeated within the file, read again up to
        the failed batch (memory bounded by the batch)."""
        end = lines[-1] if lines else 0

        def key_of(m: Any) -> Key:
            key = spec.key(m)
            return tuple(k.lower() for k in key) if spec.nocase else key

        first_line: dict[Key, int] = {}
        batch_keys: set[Key] = set()
        for batch in self._batches(spec, source(), []):
            for line, m in zip(batch.lines, batch.models, strict=True):
                if line > end:
                    break
                if line >= lines[0]:
                    batch_keys.add(key_of(m))
            if batch.lines and batch.lines[-1] >= end:
                break
        for batch in self._batches(spec, source(), []):
            for line, m in zip(batch.lines, batch.models, strict=True):
                key = key_of(m)
                if key not in batch_keys:
                    continue
                if key in first_line:
                    return Problem(
                        line,
                        spec.duplicate_field or spec.key_columns[-1],
                        f"{_show(key)} repeats line {first_line[key]}",
                    )
                first_line[key] = line
            if batch.lines and batch.lines[-1] >= end:
                break
        message = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        return Problem(
            lines[0] if lines else 0,
            "line",
            f"the database refused lines {lines[0]}-{end}: {message}",
        )

    # -- a whole generated portfolio in one pass -----------------------------------------

    def import_portfolio(self, records: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        """Import a mixed stream of ``(kind, record)`` (the generator's output) in one pass.

        A portfolio load (the demo's, a benchmark's) starts no fact checks: its facts are left
        to the inspections and scans (files imported by kind start them, bounded).

        Each record is validated with its kind's model; batches are written parents first so
        references hold. Any bad record raises ``ImportFailed`` (number = position in the
        stream) and the caller's transaction must be rolled back.
        """
        pending: dict[str, _Batch] = {kind: _Batch() for kind in ORDER}
        counts = dict.fromkeys(ORDER, 0)
        bar = self._bar("importing portfolio", None)
        try:
            for number, (kind, record) in enumerate(records, start=1):
                spec = self._kind(kind)
                try:
                    m = self.models[kind].model_validate(record)
                except ValidationError as exc:
                    raise ImportFailed(kind, _problems_of(number, exc)) from exc
                rule = spec.check(m)
                if rule is not None:
                    raise ImportFailed(kind, [Problem(number, *rule)])
                pending[kind].lines.append(number)
                pending[kind].models.append(m)
                if len(pending[kind].models) >= self.batch:
                    self._flush_all(pending, counts)
                bar.update(1)
            self._flush_all(pending, counts)
        finally:
            bar.close()
        for kind in ORDER:
            after = KINDS[kind].after_import
            if after is not None and counts[kind]:
                after(self.session, self.actor)
        counts["bucket_moves"] = buckets.refresh_portfolio(self.session, self.as_of)
        audit.record(
            self.session,
            actor=self.actor,
            action="bulk_import.completed",
            object_type="import",
            object_id="portfolio",
            detail=dict(counts),
        )
        self.session.flush()
        return counts

    def _flush_all(self, pending: dict[str, _Batch], counts: dict[str, int]) -> None:
        for kind in ORDER:
            batch = pending[kind]
            unknown = self._unknown_managers(KINDS[kind], batch)
            if unknown:
                raise ImportFailed(kind, unknown[:MAX_PROBLEMS], more=len(unknown) > MAX_PROBLEMS)
            if batch.models:
                self._write(KINDS[kind], batch.models)
                counts[kind] += len(batch.models)
                pending[kind] = _Batch()

    # -- helpers ------------------------------------------------------------------------

    def _kind(self, kind: str) -> Kind:
        try:
            return KINDS[kind]
        except KeyError:
            raise InvalidInput(
                f"unknown kind {kind!r}; one of {', '.join(ORDER)}", field="kind"
            ) from None

    def _bar(self, what: str, total: int | None) -> tqdm:
        return tqdm(
            total=total,
            desc=what,
            unit=" rows",
            file=sys.stderr,
            disable=not self.progress,
            mininterval=0.5,
            unit_scale=True,
        )


def _show(key: Key) -> str:
    return "/".join(v.isoformat() if isinstance(v, date | datetime) else str(v) for v in key)
