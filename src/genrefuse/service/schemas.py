"""The bodies the API accepts and answers, as pydantic models, so that the OpenAPI schema documents every
answer: each route names its response model and the error statuses it can return."""
from __future__ import annotations

from typing import Annotated

from fastapi import Path as PathParam
from pydantic import BaseModel, Field

# ids and offsets: within every database's INTEGER range (a larger one is a 422, never an overflow) and exact
# as a JSON Schema bound (2**63 - 1 turns into a float in the schema, which admits 2**63)
MAX_ID = 2**53 - 1
TrackId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


class Error(BaseModel):
    detail: str = Field(description="what went wrong, in one line")


class ValidationIssue(BaseModel):
    type: str
    loc: list[str | int]
    msg: str


class ValidationErrors(BaseModel):
    detail: list[ValidationIssue]


class Style(BaseModel):
    name: str
    score: float = Field(description="the tagger's mean sigmoid output over the track's patches")


class TrackOut(BaseModel):
    id: int
    name: str = Field(description="the uploaded file's name")
    answer: str = Field(description="the genre, or 'unknown' for a track unlike every genre the model knows")
    genre: str = Field(description="the most probable genre (the confirmed one once a listener confirmed it); for an "
                                   "unknown track only the closest")
    duration: float = Field(description="seconds")
    confidence: float = Field(description="the probability of its genre")
    unsure: bool = Field(description="confidence below the model's threshold")
    probabilities: dict[str, float]
    model_id: str
    content_hash: str = Field(description="SHA-256 of the stored file as received")
    added_at: str
    artist: str | None
    title: str | None
    confirmed: bool = Field(description="a listener set or confirmed the genre")
    added_by: int | None = Field(description="the listener who uploaded it")
    familiarity: float | None = Field(description="how close it was to the model's training data, 0..1 (the share "
                                      "of held-out known tracks that were farther); null when not measured")
    unknown: bool = Field(description="unlike every genre the model knows ('none of these'); genre is the closest")
    disputed_by: str | None = Field(None, description="another genre the musicnn taggers hear strongly (the "
                                                      "experts disagree, so the answer is unsure)")
    support: float | None = Field(None, description="the musicnn taggers' evidence for genre, 0..1 (null where they "
                                                    "have no word for it); under the genre's level the answer is unsure")
    known_by: str = Field("model", description="how genre is known: 'model' (the model's head), 'tagger' (a genre the "
                                               "musicnn tagger names for a track the head finds unknown) or "
                                               "'person' (a listener's correction)")
    file_genres: list[str] = Field(description="the genres its file's own tag named when it came in")
    styles: list[Style] = Field(description="the musicnn tagger's genre-like tags scored 0.2 or more, best first")
    moods: list[Style] = Field(default_factory=list, description="the musicnn tagger's mood-like tags (happy, sad, "
                               "mellow, chill, party, beautiful, sexy, catchy, easy listening) whose score ranks in "
                               "the top 10% of GTZAN's tracks, best first, each with that rank (score 0.9..1): the "
                               "tagger's own word, not measured by genrefuse")
    bpm: float | None = Field(None, description="the tempo in beats per minute (the table's estimate); null for a "
                                                "track stored before it was kept")
    energy: float | None = Field(None, description="how loud and fast it sounds to the MTT tagger, 0..1 (its 'loud' "
                                                   "and 'fast' against 'quiet', 'soft' and 'slow'): the tagger's own "
                                                   "word, not measured; null for a track stored before it was kept")
    album: str | None = Field(None, description="the album its file's tags name ('album artist - album'); null for a "
                                                "single")
    album_genre: str | None = Field(None, description="the album's genre when the track is filed by it (its album "
                                                      "is coherent: pooled, sure, and most tracks agree)")
    in_place: bool = Field(description="indexed where it is (`ingest --in-place`): the file is the user's, not a copy")
    needs_look: bool = Field(False, description="flagged for a person (unsure, unknown, or far from its album's "
                                                "genre, and not confirmed): exactly the tracks in /api/review")


class TrackUploaded(TrackOut):
    created: bool = Field(description="false when the same content was already in the library")


class SimilarTrack(BaseModel):
    similarity: float = Field(description="cosine similarity of the two tracks' audio embeddings, -1..1 (1: the same)")
    track: TrackOut


class SimilarList(BaseModel):
    seed: TrackOut
    tracks: list[SimilarTrack] = Field(description="the most similar first")
    unembedded: int = Field(description="the library's tracks without an embedding yet, left out (`genrefuse "
                                        "similar` embeds them all, once)")


class RadioOut(BaseModel):
    tracks: list[TrackOut] = Field(description="the seed first, then each next track")


class TrackList(BaseModel):
    tracks: list[TrackOut]
    limit: int
    offset: int
    total: int = Field(description="tracks that match (of the genre and search), for paging")


class GenreCount(BaseModel):
    genre: str
    count: int


class GenreList(BaseModel):
    genres: list[GenreCount]


class Correction(BaseModel):
    genre: str = Field(min_length=1, max_length=64, description="the right genre (any name or alias the library knows)")
    new: bool = Field(False, description="genre is a new genre of the library (else an unknown name is refused, "
                                         "with the closest known names in the message)")


class ReviewItemOut(BaseModel):
    id: int
    reason: str = Field(description="mis-tagged, disagree, unknown, far, refile or unsure (the queue's order)")
    why: str
    file: str = Field(description="its path inside the library")
    genre: str = Field(description="its genre now")
    tagged: list[str] = Field(description="the genres its file's own tag named")
    suggested: str = Field(description="the model's genre (held out for tracks a library model learned from)")
    confidence: float
    familiarity: float | None
    added_by: int | None = Field(None, description="the listener who added it (null: the command line); only they or "
                                                   "an admin may correct it")


class ReviewQueue(BaseModel):
    tracks: list[ReviewItemOut]


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=128)
    likes: list[str] = Field(default_factory=list, max_length=100)


class UserCreated(BaseModel):
    id: int
    name: str
    token: str = Field(description="the API token, shown once")
    likes: list[str]
    admin: bool = Field(description="may correct and remove any track (the first listener of a library is one)")


class NewToken(BaseModel):
    token: str = Field(description="the listener's new API token, shown once; the old one no longer works")


class FeedbackWithdrawn(BaseModel):
    track_id: int
    weights: dict[str, float]


class Me(BaseModel):
    id: int
    name: str
    admin: bool
    weights: dict[str, float]


class Because(BaseModel):
    genre: str
    contribution: float


class LikedWith(BaseModel):
    id: int
    name: str = Field(description="how a person knows it: 'artist - title' from its tags, else its title, else its "
                                   "file name without the extension")


class Recommendation(BaseModel):
    track: TrackOut
    score: float
    genre_score: float
    because: list[Because]
    liked_with: LikedWith | None
    sounds_like: LikedWith | None = Field(None, description="the listener's liked track this one sounds most like, "
                                                            "where that counted")


class Recommendations(BaseModel):
    recommendations: list[Recommendation]


class NewFeedback(BaseModel):
    track_id: int = Field(ge=1, le=MAX_ID)
    action: str = Field(pattern="^(like|skip)$")


class FeedbackGiven(BaseModel):
    track_id: int
    action: str
    weights: dict[str, float]


class FeedbackItem(BaseModel):
    track_id: int
    action: str
    track: TrackOut


class FeedbackList(BaseModel):
    feedback: list[FeedbackItem]


class Health(BaseModel):
    status: str
    version: str
    model: str
    genres: list[str] = Field(description="every genre of the library: its model's and those added by corrections")
    model_genres: list[str] = Field(description="the genres the library's model knows and can answer")
    database: bool
    tracks: int
    min_confidence: float
    signup: bool


def errors(*statuses: int) -> dict:
    """The ``responses=`` of a route that can answer these error statuses (422: validation errors)."""
    return {s: {"model": ValidationErrors if s == 422 else Error} for s in statuses}
