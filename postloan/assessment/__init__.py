"""Incentive and restraint assessment: indicators per period and level, and the scorecard."""
