"""Layers: the registry of layers/*.yaml, the one filter model, and the SQL that serves items, tiles and stats."""
