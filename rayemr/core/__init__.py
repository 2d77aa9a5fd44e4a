"""Shared foundations: the error tree, ids and small helpers used by every layer."""
