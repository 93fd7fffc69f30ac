"""Attacks that once worked, one test per class: each must now fail safely."""
