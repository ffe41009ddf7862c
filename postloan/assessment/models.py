"""Tables of assessment (filled in by issue 12)."""

from __future__ import annotations
