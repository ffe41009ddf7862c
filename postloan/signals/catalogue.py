"""The early-warning catalogue: what a signal code means (DMN ``early_warning``).

Built from the DMN XML (the deployed one, see ``gateway/catalogue.py``, or the file) and evaluated
in Python with :mod:`postloan.decisions`, so raising many signals needs no engine call per signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from postloan.decisions import DecisionTable, load_tables

DECISION_KEY = "early_warning"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "bpmn" / "early_warning.dmn"
SEVERITY_ORDER = ("blue", "yellow", "orange", "red")


@dataclass(frozen=True)
class Entry:
    severity: str
    owner_role: str
    response_days: int
    serious: bool


class EarlyWarningCatalogue:
    def __init__(self, table: DecisionTable) -> None:
        if table.key != DECISION_KEY:
            raise ValueError(f"decision {table.key!r} is not the early-warning catalogue")
        self.table = table
        self._cache: dict[str, Entry | None] = {}

    @classmethod
    def from_xml(cls, xml: str | bytes) -> EarlyWarningCatalogue:
        tables = load_tables(xml)
        if DECISION_KEY not in tables:
            raise ValueError(f"no decision {DECISION_KEY!r} in this DMN")
        return cls(tables[DECISION_KEY])

    @classmethod
    def from_file(cls, path: Path = DEFAULT_PATH) -> EarlyWarningCatalogue:
        return cls.from_xml(Path(path).read_bytes())

    def lookup(self, code: str) -> Entry | None:
        """The catalogue entry of ``code``, or None when the code is not a warning signal."""
        if code not in self._cache:
            row = self.table.single({"signal_code": code})
            self._cache[code] = (
                None
                if row is None
                else Entry(
                    severity=str(row["severity"]),
                    owner_role=str(row["owner_role"]),
                    response_days=int(row["response_days"]),
                    serious=bool(row["serious"]),
                )
            )
        return self._cache[code]

    def __contains__(self, code: object) -> bool:
        return isinstance(code, str) and self.lookup(code) is not None


def max_severity(severities: list[str]) -> str | None:
    known = [s for s in severities if s in SEVERITY_ORDER]
    return max(known, key=SEVERITY_ORDER.index) if known else None
