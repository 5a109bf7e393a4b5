"""Listeners: sign-up, the signed-in listener, their recommendations and feedback."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from sqlalchemy import select

from ...library.db import Feedback, Track, User
from ...library.recommend import give_feedback, recommend, withdraw_feedback
from ...library.users import create_user, rotate_token
from ..deps import ALL, Lib, Listener, State, client_address
from ..schemas import (FeedbackGiven, FeedbackList, FeedbackWithdrawn, Me, NewFeedback, NewToken, NewUser,
                       Recommendations, TrackId, UserCreated, errors)

router = APIRouter(prefix="/api", tags=["listeners"])


@router.post("/users", status_code=201, response_model=UserCreated, responses=errors(400, 403, 408, 409, 413, 422, 429))
def new_user(body: NewUser, request: Request, state: State) -> dict:
    """Create a listener, who may like, skip and upload. The first sign-up of a brand-new library (no
    listener, no track) served on a loopback address is its admin; nobody else becomes one this way."""
    if not state.settings.signup_open:
        raise HTTPException(403, "sign-up is closed on this server: ask its owner for a token "
                                 "(genrefuse users add NAME --library LIBRARY)")
    client = client_address(request)
    if state.signups.blocked(client):
        raise HTTPException(429, f"too many sign-ups from this address (at most {state.signups.limit} an hour)",
                            headers={"Retry-After": "3600"})
    if state.signups_total.blocked(ALL):
        raise HTTPException(429, f"too many sign-ups on this server (at most {state.signups_total.limit} an hour)",
                            headers={"Retry-After": "3600"})
    with state.library.Session() as s:
        user, token = create_user(s, body.name, body.likes, state.library.vocabulary, first_admin=state.settings.local)
    state.signups.record(client)
    state.signups_total.record(ALL)
    return {"id": user.id, "name": user.name, "token": token, "likes": sorted(user.weights()),
            "admin": bool(user.is_admin)}


@router.get("/me", response_model=Me, responses=errors(401, 429))
def me(user: Listener, library: Lib) -> dict:
    with library.Session() as s:
        u = s.get(User, user.id)
        return {"id": u.id, "name": u.name, "admin": bool(u.is_admin), "weights": u.weights()}


@router.get("/me/recommendations", response_model=Recommendations, responses=errors(401, 422, 429))
def my_recommendations(user: Listener, state: State, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> dict:
    library = state.library
    with library.Session() as s:
        return {"recommendations": recommend(s, s.get(User, user.id), limit=limit, index=state.track_index,
                                             cf=state.collaborative["model"], describe=library.describe,
                                             audio=state.similar_index)}


@router.post("/me/feedback", response_model=FeedbackGiven, responses=errors(400, 401, 404, 408, 413, 422, 429))
def my_feedback(body: NewFeedback, user: Listener, library: Lib) -> dict:
    with library.Session() as s:
        weights = give_feedback(s, s.get(User, user.id), body.track_id, body.action)
        return {"track_id": body.track_id, "action": body.action, "weights": weights}


@router.delete("/me/feedback/{track_id}", response_model=FeedbackWithdrawn, responses=errors(401, 404, 422, 429))
def withdraw_my_feedback(track_id: TrackId, user: Listener, library: Lib) -> dict:
    """Take back a like or a skip (unlike): the genre weights move back."""
    with library.Session() as s:
        return {"track_id": track_id, "weights": withdraw_feedback(s, s.get(User, user.id), track_id)}


@router.post("/me/token", response_model=NewToken, responses=errors(401, 408, 413, 422, 429))
def new_token(user: Listener, library: Lib) -> dict:
    """A new API token for the signed-in listener (shown once): the old one stops working."""
    with library.Session() as s:
        return {"token": rotate_token(s, user.id)}


@router.get("/me/feedback", response_model=FeedbackList, responses=errors(401, 429))
def my_feedback_list(user: Listener, library: Lib) -> dict:
    with library.Session() as s:
        rows = s.execute(select(Feedback, Track).join(Track, Track.id == Feedback.track_id)
                         .where(Feedback.user_id == user.id).order_by(Feedback.id.desc())).all()
        return {"feedback": [{"track_id": f.track_id, "action": f.action, "track": library.describe(t)}
                             for f, t in rows]}
