"""Risk compensation: deferred performance pay, released or clawed back by due-diligence
determinations."""
