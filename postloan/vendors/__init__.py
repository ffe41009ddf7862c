"""Outsourced visits for small and micro enterprises: vendors, assignments, visit batches."""
