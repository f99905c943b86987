"""Sliced optimal-transport discrepancies (placeholder until issue 3 lands)."""
