"""Accounts and roles (admin, editor bound to divisions, viewer), password hashing, API tokens, FastAPI guards."""
