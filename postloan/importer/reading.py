"""Reading import files: CSV with a header row, or JSON lines (``.jsonl``). Streams, never loads."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: One raw record and its line number in the file (CSV: the last physical line of the record).
Raw = tuple[int, dict[str, Any]]


class ReadError(ValueError):
    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(f"line {line}, {field}: {message}")
        self.line, self.field, self.message = line, field, message


def is_jsonl(path: Path) -> bool:
    return path.suffix.lower() in (".jsonl", ".ndjson")


def read_rows(path: Path, json_fields: frozenset[str] = frozenset()) -> Iterator[Raw]:
    """Yield ``(line number, record)``. CSV: empty cells are left out (so defaults apply) and the
    cells of ``json_fields`` (lists such as collaterals) hold JSON. JSON lines: one object a line.
    """
    record: dict[str, Any]
    if is_jsonl(path):
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                if not text.strip():
                    continue
                try:
                    record = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise ReadError(number, "line", f"not valid JSON: {exc.msg}") from exc
                if not isinstance(record, dict):
                    raise ReadError(number, "line", "each line must be a JSON object")
                yield number, record
        return
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames:
            raise ReadError(1, "header", "the CSV file has no header row")
        for row in reader:
            number = reader.line_num
            if None in row:
                raise ReadError(number, "line", "more cells than header columns")
            record = {}
            for key, value in row.items():
                if value is None or value == "":
                    continue
                if key in json_fields:
                    try:
                        value = json.loads(value)
                    except json.JSONDecodeError as exc:
                        raise ReadError(number, key, f"not valid JSON: {exc.msg}") from exc
                record[key] = value
            yield number, record


def count_rows(path: Path) -> int:
    """Data rows in the file (for the progress bar), counted by lines without parsing."""
    lines = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
    return max(lines - (0 if is_jsonl(path) else 1), 0)
