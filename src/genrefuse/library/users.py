"""Users: API tokens (only their SHA-256 is stored) and genre preferences."""
from __future__ import annotations

import hashlib
import secrets
import unicodedata

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import ConflictError, DataError, NotFoundError
from ..genres import Vocabulary, fold
from .db import Feedback, Track, User, UserGenre, storable

LIKED_WEIGHT = 1.0


def hash_token(token: str) -> str:
    # tokens are 256 random bits, so a plain hash is enough (no password stretching needed)
    return hashlib.sha256(token.encode()).hexdigest()


def listener_name(name: str) -> tuple[str, str]:
    """A listener's name as stored (NFKC-normalised, single spaces, control characters dropped) and as compared
    (:func:`~genrefuse.genres.fold`: ``ALICE`` and full-width ``ａｌｉｃｅ`` are ``alice``)."""
    name = " ".join(unicodedata.normalize("NFKC", storable(name, 10_000) or "").split())
    if not name or len(name) > 128:
        raise DataError("a user name must have 1 to 128 characters (control characters do not count)")
    return name, fold(name)[:128]


def create_user(session: Session, name: str, likes: list[str], vocabulary: Vocabulary, *,
                admin: bool = False, first_admin: bool = False) -> tuple[User, str]:
    """Create a user who likes ``likes`` (any names the vocabulary knows: "Hip-Hop", "metal"); returns
    the user and the API token (shown once). An admin (``admin``) may correct and remove any track. With
    ``first_admin`` the user is an admin when the library is brand-new (no other listener, no track), decided
    in the transaction that creates the user: of several at once, one claims it (:attr:`User.first_admin`
    is unique) and the others are plain listeners. A name that differs from a listener's only in case, width
    or spacing is taken (:class:`ConflictError`)."""
    name, key = listener_name(name)
    likes = vocabulary.resolve_all(likes)
    token = secrets.token_urlsafe(32)
    user = User(name=name, name_key=key, token_hash=hash_token(token), is_admin=admin,
                genres=[UserGenre(genre=g, weight=LIKED_WEIGHT) for g in likes])
    session.add(user)
    try:
        session.flush()                     # the insert takes the write lock (SQLite) before anything is counted
        if first_admin and _alone(session, user):
            user.is_admin, user.first_admin = True, 1
            session.flush()
        session.commit()
    except IntegrityError:
        session.rollback()
        taken = session.scalar(select(User.id).where((User.name_key == key) | (User.name == name)))
        if taken is None and first_admin:   # another sign-up claimed the first admin meanwhile
            return create_user(session, name, likes, vocabulary, admin=admin)
        raise ConflictError(f"a user named {name!r} already exists") from None
    return user, token


def _alone(session: Session, user: User) -> bool:
    """Whether ``user`` is the library's only listener and it holds no track: a brand-new library."""
    return not session.scalar(select(func.count()).select_from(User).where(User.id != user.id)) and \
        not session.scalar(select(func.count()).select_from(Track))


def rotate_token(session: Session, user_id: int) -> str:
    """A new API token for the listener (shown once); the old one stops working at once."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    token = secrets.token_urlsafe(32)
    user.token_hash = hash_token(token)
    session.commit()
    return token


def user_by_token(session: Session, token: str | None) -> User | None:
    if not token:
        return None
    return session.scalar(select(User).where(User.token_hash == hash_token(token)))


def user_by_name(session: Session, name: str) -> User:
    """The listener called ``name`` as names are compared (:func:`listener_name`), or by the exact name."""
    try:
        clean, key = listener_name(name)
    except DataError:
        raise NotFoundError(f"no user named {name!r}") from None
    user = session.scalar(select(User).where((User.name_key == key) | (User.name == clean)).order_by(User.id))
    if user is None:
        raise NotFoundError(f"no user named {name!r}")
    return user


def list_users(session: Session) -> list[dict]:
    """Every listener with the genres they like most, their likes and skips, and the tracks they added."""
    out = []
    for u in session.scalars(select(User).order_by(User.name)).all():
        actions = [a for (a,) in session.execute(select(Feedback.action).where(Feedback.user_id == u.id))]
        added = session.scalar(select(func.count()).select_from(Track).where(Track.added_by == u.id))
        top = sorted(u.weights().items(), key=lambda kv: -kv[1])
        out.append({"id": u.id, "name": u.name, "admin": bool(u.is_admin), "likes": actions.count("like"), "skips": actions.count("skip"),
                    "added": int(added or 0), "top_genres": [g for g, w in top[:3] if w > 0]})
    return out


def set_admin(session: Session, name: str, *, admin: bool = True) -> User:
    """Make the listener ``name`` an admin (who may correct and remove any track), or with ``admin`` False a plain
    listener again; the way to an admin for someone who signed up on the page of a library in use."""
    user = user_by_name(session, name)
    user.is_admin = admin
    session.commit()
    return user


def remove_user(session: Session, name: str) -> None:
    """Remove a listener, their token and feedback; the tracks they added stay (without their name)."""
    user = user_by_name(session, name)
    session.delete(user)
    session.commit()
