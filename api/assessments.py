"""Incentive and restraint assessment: indicators and scores per period and level."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["assessments"])
