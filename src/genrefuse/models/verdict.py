"""The one place where a model's probabilities and familiarity become an answer.

Every face (``predict``, ``classify``, ``ingest``, ``tag``, the service, review, learning, the beets plugin)
asks :class:`Rules` for a :class:`Verdict` and reads it; none compares a threshold itself. The rules:

- the **genre** is the most probable one (or the one a person confirmed);
- **unsure**: its probability (the confidence) is below ``min_confidence``, or, for an answer of one of
  GTZAN's genres, the musicnn taggers name another genre the model knows strongly (``disputed_by``: the
  experts disagree), or the tagger that can name the genre hardly hears it (``support`` under the genre's
  level; :mod:`.evidence`);
- **unknown** ("none of these"): the track's familiarity is below ``min_familiarity``, unless a person
  confirmed its genre; the **answer** is then ``"unknown"`` and ``genre`` only the closest;
- **a genre from the taggers**: a track the head finds unknown is named one of the taggers' genres when
  their evidence for it is strong enough (:mod:`.evidence`); its confidence is that evidence, and it is
  never unknown (``known_by`` says "tagger");
- **sure**: neither unsure nor unknown; a track that is not sure and not confirmed **needs a look**;
- a file's existing genre tag is **kept** unless forced; otherwise an unknown or unsure answer is not
  written, a sure one is.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from . import evidence

UNKNOWN = "unknown"          # the answer for a track unlike all of a model's genres

# what to do with a file's genre tag
KEEP, SKIP_UNKNOWN, SKIP_UNSURE, WRITE = "keep", "unknown", "unsure", "write"


@dataclass(frozen=True)
class Verdict:
    """One track's answer.

    Attributes
    ----------
    genre : str
        The most probable genre (the confirmed one for a track a person confirmed); for an unknown track
        only the closest.
    confidence : float
        The model's probability of ``genre`` (for a confirmed track, still the model's: the person's word is
        ``confirmed``).
    unsure : bool
        ``confidence`` is below the threshold: a guess (never for a confirmed track).
    unknown : bool
        Unlike every genre the model knows (never for a confirmed track).
    familiarity : float or None
        0..1, how close the track is to the model's training data (None where not measured).
    confirmed : bool
        A person set or confirmed ``genre``.
    disputed_by : str or None
        The genre the musicnn taggers name instead (then ``unsure`` too).
    support : float or None
        The taggers' evidence for ``genre`` (None where they have no word for it, or were not heard); under
        the genre's level the answer is unsure.
    known_by : str
        ``"model"`` (the model's head), ``"tagger"`` (a genre from the musicnn tagger) or ``"person"``
        (confirmed, or a library's own genre the model has not learnt).
    """

    genre: str
    confidence: float
    unsure: bool
    unknown: bool
    familiarity: float | None = None
    confirmed: bool = False
    disputed_by: str | None = None
    known_by: str = "model"
    support: float | None = None

    @property
    def answer(self) -> str:
        """``genre``, or ``"unknown"`` for a track unlike all the model's genres."""
        return UNKNOWN if self.unknown else self.genre

    @property
    def sure(self) -> bool:
        return not self.unsure and not self.unknown

    @property
    def needs_look(self) -> bool:
        """Unconfirmed and either unsure or unknown: a person should look at it."""
        return not self.confirmed and not self.sure

    def tag_decision(self, *, existing: bool, force: bool = False, include_unsure: bool = False) -> str:
        """What becomes of a file's genre tag: :data:`KEEP` an existing one (unless ``force``), else
        :data:`SKIP_UNKNOWN` or :data:`SKIP_UNSURE` (nothing written; an unsure answer is written when asked,
        ``include_unsure``), else :data:`WRITE`. A confirmed answer is always sure."""
        if existing and not force:
            return KEEP
        if self.unknown:
            return SKIP_UNKNOWN
        if self.unsure and not include_unsure:
            return SKIP_UNSURE
        return WRITE

    def fields(self) -> dict:
        """The verdict's part of every record (JSON lines, the API, CSV): :data:`FIELDS`."""
        return {"answer": self.answer, "genre": self.genre, "confidence": round(self.confidence, 6),
                "unsure": self.unsure, "unknown": self.unknown,
                "familiarity": None if self.familiarity is None else round(self.familiarity, 4),
                "disputed_by": self.disputed_by, "known_by": self.known_by,
                "support": None if self.support is None else round(self.support, 4)}

    def csv_fields(self) -> dict:
        """:meth:`fields` as a CSV writes them: flags as 0/1, no familiarity as an empty cell."""
        return {k: int(v) if isinstance(v, bool) else "" if v is None else v for k, v in self.fields().items()}


# the verdict's fields, in the order every record gives them
FIELDS = ("answer", "genre", "confidence", "unsure", "unknown", "familiarity", "disputed_by", "known_by", "support")


@dataclass(frozen=True)
class Rules:
    """A model's thresholds: ``min_confidence`` (below it: unsure) and ``min_familiarity`` (below it:
    unknown), and for a model that hears the taggers the ``genres`` it knows, the evidence that disputes
    an answer (``dispute``, None: never), whether an answer needs the taggers' support (``support``) and the
    evidence that names a genre from the taggers (``new_genre``, None: never). Set once, when a model is
    loaded (with a user's options over the model's own)."""

    min_confidence: float = 0.0
    min_familiarity: float = 0.0
    dispute: float | None = None
    genres: tuple[str, ...] = ()
    new_genre: float | None = None          # evidence that names a genre from the tagger (None: never)
    support: bool = False                   # an answer needs the taggers' support (evidence.SUPPORT)
    # per genre, the confidence under which an answer of it is unsure (a model calibrated genre by genre; a genre
    # not named here, or None: min_confidence); ((genre, threshold), ...)
    genre_confidence: tuple[tuple[str, float], ...] | None = None
    # the genres it may answer from the taggers (None: every one of evidence.TAGGER_GENRES it does not know itself)
    named: tuple[str, ...] | None = None

    def threshold(self, genre: str) -> float:
        """The confidence under which an answer of ``genre`` is unsure."""
        return dict(self.genre_confidence or ()).get(genre, self.min_confidence)

    @classmethod
    def for_model(cls, genres: Iterable[str], *, min_confidence: float, min_familiarity: float,
                  reads_tagger: bool, genre_confidence: dict[str, float] | None = None,
                  tagger_genres: Iterable[str] | None = None) -> "Rules":
        """A saved model's rules: its thresholds, and for a model that reads the tagger the taggers' word on
        its answers of GTZAN's genres, on whose tracks those levels were chosen (dispute, support); genres
        from the taggers for a model of GTZAN's genres (and the packaged model's others) alone, or those a
        model names itself (``tagger_genres``: a library's model keeps the packaged model's, see
        :func:`genrefuse.library.learning.learn_library`)."""
        genres = tuple(genres)
        judges = reads_tagger and any(evidence.judged(g) for g in genres)
        named = None if tagger_genres is None else tuple(g for g in tagger_genres if g not in genres)
        names = reads_tagger and (bool(named) if named is not None else evidence.heard_on_gtzan(genres))
        return cls(min_confidence=min_confidence, min_familiarity=min_familiarity, genres=genres,
                   dispute=evidence.DISPUTE if judges else None, new_genre=evidence.NEW_GENRE if names else None,
                   support=judges, genre_confidence=tuple(sorted(genre_confidence.items())) if genre_confidence else None,
                   named=named)

    @property
    def hears(self) -> bool:
        """Whether these rules read the taggers' evidence (then prediction also runs the MTT tagger)."""
        return self.dispute is not None or self.new_genre is not None or self.support

    def with_options(self, *, min_confidence: float | None = None, min_familiarity: float | None = None) -> "Rules":
        """These rules with a user's thresholds where given (None: the model's own); a user's ``min_confidence``
        holds for every genre."""
        changes = {k: float(v) for k, v in (("min_confidence", min_confidence), ("min_familiarity", min_familiarity))
                   if v is not None}
        if min_confidence is not None:
            changes["genre_confidence"] = None
        return replace(self, **changes)

    def judge(self, genre: str, confidence: float, familiarity: float | None = None, *, confirmed: bool = False,
              heard: Mapping[str, float] | None = None) -> Verdict:
        """The verdict on a track whose genre is ``genre`` with probability ``confidence``, its familiarity
        and the taggers' evidence per genre (``heard``, :func:`.evidence.of_tags`) where known."""
        heard = heard or {}
        if self.from_tagger(genre):
            score = float(heard.get(genre, 0.0))
            return Verdict(genre, score, unsure=score < self.new_genre and not confirmed, unknown=False,
                           familiarity=familiarity, confirmed=confirmed, known_by="person" if confirmed else "tagger",
                           support=heard.get(genre))
        by, weak = None, False
        if not confirmed and evidence.judged(genre):
            if self.dispute is not None:
                by = evidence.rival(genre, heard, self.genres, threshold=self.dispute)
            weak = self.support and evidence.unsupported(genre, heard)
        head = genre in self.genres or not self.genres
        support = heard.get(genre) if self.hears else None
        low = confidence < self.threshold(genre) and not confirmed        # a person's word is never a guess
        return Verdict(genre, float(confidence), unsure=bool(low or by is not None or weak),
                       unknown=bool(familiarity is not None and familiarity < self.min_familiarity and not confirmed),
                       familiarity=familiarity, confirmed=confirmed, disputed_by=by,
                       known_by="model" if head and not confirmed else "person", support=support)

    def from_tagger(self, genre: str) -> bool:
        """Whether ``genre`` is one this model answers from the tagger (not one its head knows)."""
        return self.new_genre is not None and genre in evidence.TAGGER_GENRES and genre not in self.genres and \
            (self.named is None or genre in self.named)

    @property
    def tagger_genres(self) -> tuple[str, ...]:
        """The genres this model may answer from the tagger."""
        return tuple(g for g in evidence.TAGGER_GENRES if self.from_tagger(g))

    def of(self, probabilities: Mapping[str, float], familiarity: float | None = None, *,
           heard: Mapping[str, float] | None = None) -> Verdict:
        """The verdict on a track's probabilities and the taggers' evidence (``heard``): its most probable
        genre (the first of equals), unless the head finds the track unknown and the taggers name one of
        their genres."""
        genre = max(probabilities, key=probabilities.__getitem__)
        v = self.judge(genre, probabilities[genre], familiarity, heard=heard)
        if v.unknown and self.new_genre is not None and heard:
            named = evidence.tagger_genre(heard, exclude=self.genres, threshold=self.new_genre, only=self.named)
            if named is not None:
                return self.judge(named[0], named[1], familiarity, heard=heard)
        return v
