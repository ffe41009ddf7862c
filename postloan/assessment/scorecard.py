"""The scorecard (DMN ``assessment_scorecard`` and ``assessment_band``) applied to indicators.

Pure: no database. Weights, directions, scales and bands all come from the decision tables in
``bpmn/assessment_scorecard.dmn`` — evaluated in Python with :mod:`postloan.decisions` — so an
analyst changes the scoring in Camunda Modeler without a code change.

A subject's score is 100 x the weighted mean of what its indicators earn. An indicator earns
``min(value / scale, 1)`` when higher is better, one minus that when lower is better. Only the
indicators with a weight above 0 and data for the subject count (weights renormalised over them):
an indicator with nothing to measure is ``None``, shown, and left out — never a 0.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from postloan.assessment.config import INDICATORS, AssessmentConfig
from postloan.assessment.results import IndicatorValue, Scorecard
from postloan.decisions import DecisionTable, load_tables

WEIGHTS_KEY = "assessment_scorecard"
BANDS_KEY = "assessment_band"
DEFAULT_PATH = Path(__file__).resolve().parents[2] / "bpmn" / "assessment_scorecard.dmn"
#: The band of a subject none of whose scored indicators has data (no score to band).
NOT_RATED = "not_rated"


class ScorecardTableError(ValueError):
    """The scorecard DMN cannot be used as it is (the message says why)."""


@dataclass(frozen=True)
class Measure:
    """The raw count behind one indicator of one subject.

    ``rate``: ``numerator`` of ``denominator`` (value = the share). ``mean``: ``total`` over
    ``denominator`` items (value = the mean). No items: the value is ``None``.
    """

    kind: str = "rate"
    numerator: int = 0
    denominator: int = 0
    total: float = 0.0

    @property
    def value(self) -> float | None:
        if self.denominator == 0:
            return None
        if self.kind == "rate":
            return self.numerator / self.denominator
        return self.total / self.denominator


@dataclass(frozen=True)
class Weighting:
    weight: float
    direction: str  # "higher" or "lower": which is better
    scale: float  # the value that earns full marks (1 for a rate)

    def earned(self, value: float) -> float:
        share = max(0.0, min(value / self.scale, 1.0))
        return share if self.direction == "higher" else 1.0 - share


class ScorecardTable:
    """The two decisions of the scorecard DMN, with their answers memoised."""

    def __init__(self, weights: DecisionTable, bands: DecisionTable, digest: str = "") -> None:
        if weights.key != WEIGHTS_KEY or bands.key != BANDS_KEY:
            raise ScorecardTableError(f"need decisions {WEIGHTS_KEY!r} and {BANDS_KEY!r}")
        self.weights = weights
        self.bands = bands
        #: SHA-256 of the DMN document the table was read from (stored with each computation).
        self.digest = digest
        self._cache: dict[tuple[str, str], Weighting | None] = {}

    @classmethod
    def from_xml(cls, xml: str | bytes) -> ScorecardTable:
        tables = load_tables(xml)
        missing = [k for k in (WEIGHTS_KEY, BANDS_KEY) if k not in tables]
        if missing:
            raise ScorecardTableError(f"no decision {', '.join(missing)} in this DMN")
        raw = xml.encode("utf-8") if isinstance(xml, str) else xml
        return cls(tables[WEIGHTS_KEY], tables[BANDS_KEY], hashlib.sha256(raw).hexdigest())

    @classmethod
    def from_file(cls, path: Path = DEFAULT_PATH) -> ScorecardTable:
        return cls.from_xml(Path(path).read_bytes())

    def weighting(self, level: str, indicator: str) -> Weighting | None:
        """The row of the level and indicator; ``None``: not scored at that level."""
        key = (level, indicator)
        if key not in self._cache:
            row = self.weights.single({"level": level, "indicator": indicator})
            found: Weighting | None = None
            if row is not None:
                weight, direction = row.get("weight"), row.get("direction")
                scale = row.get("scale") or 1
                if not isinstance(weight, int | float) or weight < 0:
                    raise ScorecardTableError(f"{level}/{indicator}: weight must be a number >= 0")
                if direction not in ("higher", "lower"):
                    raise ScorecardTableError(f"{level}/{indicator}: direction higher or lower")
                if not isinstance(scale, int | float) or scale <= 0:
                    raise ScorecardTableError(f"{level}/{indicator}: scale must be > 0")
                found = Weighting(float(weight), str(direction), float(scale))
            self._cache[key] = found
        return self._cache[key]

    def band(self, score: float) -> str:
        row = self.bands.single({"score": score})
        if row is None or not row.get("band"):
            raise ScorecardTableError(f"no band for score {score}")
        return str(row["band"])


@lru_cache(maxsize=1)
def bundled() -> ScorecardTable:
    """The scorecard as shipped in ``bpmn/`` (what gets deployed to the engine)."""
    return ScorecardTable.from_file()


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def _items(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def explain(key: str, m: Measure) -> str:
    """Words for one indicator's value."""
    n, d = m.numerator, m.denominator
    if d == 0:
        return "nothing to measure in this period"
    if key in ("inspections_on_time", "inspections_late", "inspections_missing"):
        what = {
            "inspections_on_time": "done by their due date",
            "inspections_late": "done after their due date",
            "inspections_missing": "not done by the end of the period",
        }[key]
        return f"{n} of {d} inspections due in the period {what}"
    if key == "rework_rate":
        return f"{n} of {d} inspections completed in the period were returned for rework"
    if key == "signals_caught_early":
        return f"{n} of {d} loans turning overdue in the period had a signal raised before"
    if key == "signal_lead_time_days":
        days = _number(m.total / d)
        return f"on average {days} days from the first signal to overdue ({_items(d, 'loan')})"
    if key == "signals_responded_on_time":
        return f"{n} of {d} signals due for a response in the period answered by their deadline"
    if key == "rectifications_on_time":
        return f"{n} of {d} rectifications due in the period closed by their deadline"
    if key == "technical_overdue_rate":
        return f"{n} of {d} instalments due in the period paid in full but a few days late"
    if key == "approval_quality":
        over = _items(d, "credit application")
        return f"mean rating {m.total / d:.2f} (0 poor .. 1 good) over {over}"
    if key == "onsite_contradicted_rate":
        return f"{n} of {d} unannounced on-site verifications contradicted the inspector"
    if key == "vendor_quality_score":
        return f"quality score {_number(m.total)} of 100"
    return f"{n} of {d}"


def score_level(
    *,
    period: str,
    level: str,
    measures: Mapping[str, Mapping[str, Measure]],
    names: Mapping[str, str],
    table: ScorecardTable,
    config: AssessmentConfig,
) -> list[Scorecard]:
    """Every subject's scorecard of one level, best first, ranked (ties share a rank)."""
    cards: list[Scorecard] = []
    for subject_id, by_key in measures.items():
        keys = [k for k in INDICATORS if k in by_key or table.weighting(level, k) is not None]
        active = 0.0
        for k in keys:
            rule = table.weighting(level, k)
            if rule is not None and rule.weight > 0 and k in by_key and by_key[k].value is not None:
                active += rule.weight
        indicators: list[IndicatorValue] = []
        score = 0.0
        for k in keys:
            m = by_key.get(k, Measure())
            rule = table.weighting(level, k)
            weight = rule.weight if rule is not None else 0.0
            value = m.value
            points = 0.0
            if rule is not None and value is not None and weight > 0 and active > 0:
                points = 100.0 * weight / active * rule.earned(value)
            score += points
            indicators.append(
                IndicatorValue(
                    key=k,
                    label=config.label(k),
                    value=None if value is None else round(value, 4),
                    numerator=m.numerator if m.kind == "rate" and m.denominator else None,
                    denominator=m.denominator or None,
                    weight=weight,
                    points=round(points, 2),
                    explanation=explain(k, m),
                )
            )
        score = round(score, 2)
        cards.append(
            Scorecard(
                period=period,
                level=level,
                subject_id=subject_id,
                subject_name=names.get(subject_id, subject_id),
                score=score,
                band=table.band(score) if active > 0 else NOT_RATED,
                rank=0,
                indicators=tuple(indicators),
            )
        )
    return ranked(cards)


def ranked(cards: Iterable[Scorecard]) -> list[Scorecard]:
    """Best first; equal scores share a rank (1, 1, 3); subjects not rated come last."""
    ordered = sorted(cards, key=lambda c: (c.band == NOT_RATED, -c.score, c.subject_id))
    result: list[Scorecard] = []
    for i, card in enumerate(ordered):
        prev = result[-1] if result else None
        same = prev is not None and prev.score == card.score and prev.band == card.band
        rank = prev.rank if same and prev is not None else i + 1
        result.append(_with_rank(card, rank))
    return result


def _with_rank(card: Scorecard, rank: int) -> Scorecard:
    from dataclasses import replace

    return replace(card, rank=rank)
