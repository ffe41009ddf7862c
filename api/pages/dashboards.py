"""Dashboards: pages with charts for people (issue 12)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/pages/dashboards", tags=["pages"], include_in_schema=False)
