"""Users and roles (analyst < operator < admin); passwords hashed with scrypt (werkzeug)."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Engine, Integer, String, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from core.db.models import Base

ROLES = ("analyst", "operator", "admin")
RANK = {"public": 0, "analyst": 1, "operator": 2, "admin": 3}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


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
    if len(password) < 10:
        raise ValueError("password must be at least 10 characters")
    with Session(engine) as session, session.begin():
        if session.scalar(select(User.id).where(User.name == name)) is not None:
            raise ValueError(f"user '{name}' already exists")
        session.add(User(name=name, role=role, password_hash=generate_password_hash(password, method="scrypt"),
                         active=True, created_at=datetime.now(timezone.utc)))
    return password


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
