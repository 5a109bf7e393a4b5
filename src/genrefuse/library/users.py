"""Users: API tokens (only their SHA-256 is stored) and genre preferences."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import ConflictError, DataError
from .db import User, UserGenre

LIKED_WEIGHT = 1.0


def hash_token(token: str) -> str:
    # tokens are 256 random bits, so a plain hash is enough (no password stretching needed)
    return hashlib.sha256(token.encode()).hexdigest()


def check_genres(genres: list[str], known: list[str]) -> list[str]:
    unknown = [g for g in genres if g not in known]
    if unknown:
        raise DataError(f"unknown genre {unknown[0]!r}; the model knows {', '.join(known)}")
    return list(dict.fromkeys(genres))


def create_user(session: Session, name: str, likes: list[str], known: list[str]) -> tuple[User, str]:
    """Create a user who likes ``likes``; returns the user and the API token (shown once)."""
    name = name.strip()
    if not name or len(name) > 128:
        raise DataError("a user name must have 1 to 128 characters")
    likes = check_genres(likes, known)
    token = secrets.token_urlsafe(32)
    user = User(name=name, token_hash=hash_token(token),
                genres=[UserGenre(genre=g, weight=LIKED_WEIGHT) for g in likes])
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ConflictError(f"a user named {name!r} already exists") from None
    return user, token


def user_by_token(session: Session, token: str | None) -> User | None:
    if not token:
        return None
    return session.scalar(select(User).where(User.token_hash == hash_token(token)))


def user_by_name(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise DataError(f"no user named {name!r}")
    return user
