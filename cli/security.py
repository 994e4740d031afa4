"""`rotate-jwt-secret`: a new signing secret for access tokens."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("rotate-jwt-secret",
                       help="replace the secret that signs access tokens: every signed-in "
                       "user signs in again (device tokens and Kobo hook secrets keep working)")
    p.set_defaults(func=run_rotate_jwt_secret)


def run_rotate_jwt_secret(args: argparse.Namespace) -> int:
    from core.db import session_scope
    from core.errors import AppError
    from sync import accounts

    try:
        with session_scope() as session:
            accounts.rotate_jwt_secret(session)
    except AppError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print("JWT secret rotated: access tokens issued before now no longer work (running "
          f"workers pick the new secret up within {int(accounts.SECRET_TTL)} s); users sign "
          "in again. Device tokens and Kobo hook secrets are unchanged.")
    return 0
