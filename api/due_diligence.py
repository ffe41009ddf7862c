"""Due-diligence reviews of non-performing loans."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["due-diligence"])
