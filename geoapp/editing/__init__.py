"""Editing projects one by one (create, change, soft delete, restore, history) and their monthly progress."""
