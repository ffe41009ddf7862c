"""Tables of due diligence (filled in by issue 12)."""

from __future__ import annotations
