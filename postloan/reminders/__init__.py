"""Reminders that prevent lapses: instalments about to fall due (more kinds to follow)."""
