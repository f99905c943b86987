"""Distributions on the unit sphere S^{d-1} (placeholder until issue 2 lands)."""
