"""Casework on top of the registry: pairings, visits, subsidies, dropout cases."""
