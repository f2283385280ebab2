"""Users and roles (analyst < operator < admin); passwords hashed with scrypt (werkzeug); session versions."""
from __future__ import annotations

import functools
import os
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core.db.models import User

ROLES = ("analyst", "operator", "admin")
RANK = {"public": 0, "analyst": 1, "operator": 2, "admin": 3}
FIRST_ADMIN = "admin"


class WrongPassword(ValueError):
    """The current password given to change it does not match."""


def required_role(access: str, settings) -> str:
    """The role an access entry asks for: a role itself (public, admin…) or a settings field naming one."""
    return access if access in RANK else getattr(settings, access)


def allows(role: str | None, needed: str) -> bool:
    """Whether a user of `role` (None: anonymous) may do what needs `needed` (public, analyst, operator, admin)."""
    return RANK.get(role or "public", 0) >= RANK[needed]


def create_user(engine: Engine, name: str, role: str, password: str | None = None,
                must_change_password: bool = False) -> str:
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
        session.add(User(name=name, role=role, password_hash=_hash(password), active=True,
                         created_at=datetime.now(UTC), must_change_password=must_change_password,
                         session_version=0))
    return password


def set_password(engine: Engine, name: str, password: str) -> None:
    """Replace a user's password (at least 10 characters), ending their sessions; ValueError: no such user."""
    _check_password(password)
    with Session(engine) as session, session.begin():
        _replace_password(_named(session, name), password)


def change_password(engine: Engine, user_id: int, current: str, new: str) -> None:
    """A user changing their own password: WrongPassword unless `current` matches, ValueError for a weak `new`."""
    _check_password(new)
    if new == current:
        raise ValueError("the new password must differ from the current one")
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        if user is None or not user.active or not check_password_hash(user.password_hash, current):
            raise WrongPassword("the current password is wrong")
        _replace_password(user, new)


def disable_user(engine: Engine, name: str) -> None:
    """Stop a user from signing in and end their sessions; ValueError when there is no such user.

    Kept, not deleted: the job history names who started each run.
    """
    with Session(engine) as session, session.begin():
        user = _named(session, name)
        user.active = False
        user.session_version += 1


def end_sessions(engine: Engine, user_id: int) -> None:
    """Sign a user out everywhere: every session cookie issued before now stops working."""
    with Session(engine) as session, session.begin():
        user = session.get(User, user_id)
        if user is not None:
            user.session_version += 1


def end_sessions_named(engine: Engine, name: str) -> None:
    """end_sessions for the user called `name`; ValueError when there is no such user."""
    with Session(engine) as session, session.begin():
        _named(session, name).session_version += 1


def _replace_password(user: User, password: str) -> None:
    user.password_hash = _hash(password)
    user.must_change_password = False
    user.session_version += 1  # whoever knew the old password loses the sessions it opened


def _named(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise ValueError(f"no user named '{name}'")
    return user


def _check_password(password: str) -> None:
    if len(password) < 10:
        raise ValueError("password must be at least 10 characters")


def _hash(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


@functools.cache
def _unknown_user_hash() -> str:
    """A hash no password matches, checked for unknown names so they cost what known ones do."""
    return _hash(secrets.token_urlsafe(32))


def authenticate(engine: Engine, name: str, password: str) -> dict | None:
    """The user as a dict when the name and password match an active user, else None (same work either way)."""
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.name == name))
        matches = check_password_hash(user.password_hash if user else _unknown_user_hash(), password)
        return _as_dict(user) if user is not None and matches and user.active else None


def get_user(engine: Engine, user_id: int) -> dict | None:
    """An active user as a dict (id, name, role, session_version, must_change_password), else None."""
    with Session(engine) as session:
        user = session.get(User, user_id)
        return _as_dict(user) if user and user.active else None


def _as_dict(user: User) -> dict:
    return {"id": user.id, "name": user.name, "role": user.role, "session_version": user.session_version,
            "must_change_password": user.must_change_password}


def list_users(engine: Engine) -> list[dict]:
    with Session(engine) as session:
        return [{"id": u.id, "name": u.name, "role": u.role, "active": u.active, "created_at": u.created_at}
                for u in session.scalars(select(User).order_by(User.name))]


def read_password_file(path: str | Path) -> str:
    """The password in a file only its owner may read (mode 0600 or stricter); ValueError otherwise."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ValueError(f"first_admin_password_file: {path} does not exist") from None
    if stat.S_IMODE(info.st_mode) & 0o077 or info.st_uid != os.geteuid():
        raise ValueError(f"first_admin_password_file: {path} must belong to this user with mode 0600 "
                         f"(now {stat.S_IMODE(info.st_mode):04o})")
    password = path.read_text().strip()
    _check_password(password)
    return password


def ensure_first_admin(engine: Engine, password_file: str = "") -> tuple[str, str | None] | None:
    """On the very first start, create an admin; (name, password) once, else None.

    With `password_file` the password is read from that file (0600) and the password returned is None (it is
    never shown); otherwise it is random, shown once, and must be changed at the first sign-in.
    """
    with Session(engine) as session:
        if session.scalar(select(func.count()).select_from(User).where(User.role == "admin")):
            return None
    password = read_password_file(password_file) if password_file else None
    try:
        created = create_user(engine, FIRST_ADMIN, "admin", password, must_change_password=password is None)
    except (ValueError, IntegrityError):  # another worker starting at the same moment created it
        return None
    return FIRST_ADMIN, None if password_file else created
