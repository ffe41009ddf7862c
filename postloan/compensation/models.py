"""Tables of compensation (filled in by issue 12)."""

from __future__ import annotations
