"""Risk compensation: the deferred pay ledger."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["compensation"])
