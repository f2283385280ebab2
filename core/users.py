"""Users and roles (analyst < operator < admin); passwords hashed with scrypt (werkzeug)."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core.db.models import User

ROLES = ("analyst", "operator", "admin")
RANK = {"public": 0, "analyst": 1, "operator": 2, "admin": 3}


def required_role(access: str, settings) -> str:
    """The role an access entry asks for: a role itself (public, admin…) or a settings field naming one."""
    return access if access in RANK else getattr(settings, access)


def allows(role: str | None, needed: str) -> bool:
    """Whether a user of `role` (None: anonymous) may do what needs `needed` (public, analyst, operator, admin)."""
    return RANK.get(role or "public", 0) >= RANK[needed]


def create_user(engine: Engine, name: str, role: str, password: str | None = None) -> str:
    """Create a user; returns the password (a random one when none is given)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 80:
        raise ValueError("name must be 1 to 80 characters")
    password = password or secrets.token_urlsafe(12)
    _check_password(password)
    with Session(engine) as session, session.begin():
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise ValueError(f"user '{name}' already exists")
        session.add(User(name=name, role=role, password_hash=generate_password_hash(password, method="scrypt"),
                         active=True, created_at=datetime.now(UTC)))
    return password


def set_password(engine: Engine, name: str, password: str) -> None:
    """Replace a user's password (at least 10 characters); ValueError when there is no such user."""
    _check_password(password)
    with Session(engine) as session, session.begin():
        user = _named(session, name)
        user.password_hash = generate_password_hash(password, method="scrypt")


def disable_user(engine: Engine, name: str) -> None:
    """Stop a user from signing in (kept, not deleted: job history names who started each run); ValueError when there is no such user."""
    with Session(engine) as session, session.begin():
        _named(session, name).active = False


def _named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise ValueError(f"no user named '{name}'")
    return user


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise ValueError("password must be at least 10 characters")


def authenticate(engine: Engine, name: str, password: str) -> dict | None:
    """The user as a dict when the name and password match an active user, else None."""
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.name == name, User.active.is_(True)))
        if user is None or not check_password_hash(user.password_hash, password):
            return None
        return {"id": user.id, "name": user.name, "role": user.role}


def get_user(engine: Engine, user_id: int) -> dict | None:
    with Session(engine) as session:
        user = session.get(User, user_id)
        return {"id": user.id, "name": user.name, "role": user.role} if user and user.active else None


def list_users(engine: Engine) -> list[dict]:
    with Session(engine) as session:
        return [{"id": u.id, "name": u.name, "role": u.role, "active": u.active, "created_at": u.created_at}
                for u in session.scalars(select(User).order_by(User.name))]


def ensure_first_admin(engine: Engine) -> tuple[str, str] | None:
    """On the very first start, create an admin with a random password; (name, password) once, else None."""
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(User).where(User.role == "admin")):
            return None
    try:
        return "admin", create_user(engine, "admin", "admin")
    except (ValueError, IntegrityError):  # another worker starting at the same moment created it
        return None
