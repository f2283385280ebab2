"""API tokens: per user, scoped, shown once, stored as SHA-256 digests, revocable.

A token is 256 random bits, so a fast hash is enough at rest (no guessing to slow down, unlike a password).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.orm import Session

from core.db.models import ApiToken, User
from core.users import get_user

SCOPES = {"read": "read the API (GET)", "jobs": "start and cancel the admin jobs"}
PREFIX = "aqi_"  # recognisable in logs and by secret scanners
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(engine: Engine, user_name: str, scopes: tuple[str, ...] = ("read",),
                 label: str = "") -> tuple[int, str]:
    """A new token for an active user: (id, token). The token itself is returned here only, never stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"scopes must be among {', '.join(SCOPES)} (got {', '.join(unknown) or 'none'})")
    if len(label) > 80:
        raise ValueError("label must be at most 80 characters")
    token = PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        user = session.scalar(select(User).where(User.name == user_name, User.active.is_(True)))
        if user is None:
            raise ValueError(f"no active user named '{user_name}'")
        row = ApiToken(user_id=user.id, label=label, digest=digest(token), scopes=" ".join(sorted(set(scopes))),
                       created_at=datetime.now(UTC))
        session.add(row)
        session.flush()
        return row.id, token


def revoke_token(engine: Engine, token_id: int) -> None:
    """Stop a token from working at once; ValueError when there is no such token or it is already revoked."""
    with Session(engine) as session, session.begin():
        row = session.get(ApiToken, token_id)
        if row is None or row.revoked_at is not None:
            raise ValueError(f"no active token with id {token_id}")
        row.revoked_at = datetime.now(UTC)


def list_tokens(engine: Engine, user_name: str | None = None) -> list[dict]:
    """Tokens (never their value) with their user, scopes and state, newest first."""
    query = select(ApiToken, User.name).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id.desc())
    if user_name is not None:
        query = query.where(User.name == user_name)
    with Session(engine) as session:
        return [{"id": t.id, "user": name, "label": t.label, "scopes": t.scopes.split(), "created_at": t.created_at,
                 "last_used_at": t.last_used_at, "revoked": t.revoked_at is not None}
                for t, name in session.execute(query)]


def verify_token(engine: Engine, token: str) -> tuple[dict, frozenset[str]] | None:
    """(user, scopes) for a valid token of an active user, else None."""
    if not token.startswith(PREFIX):
        return None
    with Session(engine) as session, session.begin():
        row = session.scalar(select(ApiToken).where(ApiToken.digest == digest(token), ApiToken.revoked_at.is_(None)))
        if row is None:
            return None
        now = datetime.now(UTC)
        session.execute(update(ApiToken).where(ApiToken.id == row.id, or_(
            ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - LAST_USED_EVERY)).values(last_used_at=now))
        user_id, scopes = row.user_id, frozenset(row.scopes.split())
    user = get_user(engine, user_id)
    return (user, scopes) if user else None
