"""Recommendation from a user's genre weights and each track's full genre-probability vector.

score(track) = sum over genres of weight[genre] * p(genre | track). Tracks the user already liked or
skipped are left out, and so are tracks that score zero (nothing the user likes); ties go to the most
recently added. Feedback moves the weights towards (like)
or away from (skip) the track's probability vector.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import DataError
from .db import Feedback, Track, User, UserGenre

FEEDBACK_RATE = 0.5      # how far one like or skip moves the weights
ACTIONS = ("like", "skip")


def score(weights: dict[str, float], probabilities: dict[str, float]) -> tuple[float, list[dict]]:
    """The track's score and the genres that drove it (contribution >= 20% of the score, at most 3)."""
    parts = sorted(((weights.get(g, 0.0) * p, g) for g, p in probabilities.items()), reverse=True)
    total = sum(c for c, _ in parts)
    because = [{"genre": g, "contribution": round(c, 4)} for c, g in parts[:3] if total > 0 and c >= 0.2 * total]
    return total, because


def recommend(session: Session, user: User, *, limit: int = 10) -> list[dict]:
    weights = user.weights()
    seen = select(Feedback.track_id).where(Feedback.user_id == user.id)
    tracks = session.scalars(select(Track).where(Track.id.not_in(seen))
                             .order_by(Track.added_at.desc(), Track.id.desc())).all()
    scored = []
    for rank, t in enumerate(tracks):           # rank 0 = newest
        s, because = score(weights, t.probabilities)
        if s <= 1e-9:
            continue
        scored.append((-s, rank, t, because))
    scored.sort(key=lambda x: (x[0], x[1]))
    return [{"track": t.to_json(), "score": round(-neg, 6), "because": because} for neg, _, t, because in scored[:limit]]


def give_feedback(session: Session, user: User, track_id: int, action: str) -> dict[str, float]:
    """Record a like or skip (the latest one counts) and move the user's weights; returns the weights."""
    if action not in ACTIONS:
        raise DataError(f"unknown action {action!r}; use 'like' or 'skip'")
    track = session.get(Track, track_id)
    if track is None:
        raise LookupError(f"no track {track_id}")
    fb = session.scalar(select(Feedback).where(Feedback.user_id == user.id, Feedback.track_id == track_id))
    if fb is None:
        session.add(Feedback(user_id=user.id, track_id=track_id, action=action))
    else:
        fb.action = action
    sign = 1.0 if action == "like" else -1.0
    rows = {g.genre: g for g in user.genres}
    for genre, p in track.probabilities.items():
        row = rows.get(genre)
        if row is None:
            row = UserGenre(genre=genre, weight=0.0)
            user.genres.append(row)
        row.weight = max(0.0, row.weight + sign * FEEDBACK_RATE * p)
    session.commit()
    return user.weights()
