"""The dashboards' reads (issue 12): migration matrix, signals over time, rectification and
restriction ages, and the assessment's scorecards by branch and level (postloan.assessment)."""
