"""The roles a user can have (kept apart from the tables so the CLI starts fast)."""

ROLES = ("kader", "supervisor", "agency", "admin")
