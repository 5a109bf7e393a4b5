"""The musicnn taggers' own word on a genre, as second experts beside a model's head, and the genres they
know that a GTZAN-trained head does not.

Two taggers hear every track (:mod:`genrefuse.pretrained`): MSD_musicnn (about 200,000 tracks of the Million
Song Dataset with Last.fm tags; the head reads its taggram) and MTT_musicnn (MagnaTagATune; only these rules
read it). A genre's **evidence** is the best mean score among the tags that name it (:data:`EVIDENCE`, fixed
from the tags' names): MSD's tags where it has a word for the genre, MTT's only where MSD has none
(classical) or misses a style (techno, for electronic). Three rules use it (:mod:`.verdict`):

- **dispute**: another genre the model knows has evidence of at least :data:`DISPUTE`: the experts disagree
  (they name another genre, or hear two strongly), the answer is unsure (``disputed_by``);
- **support**: the answer's own evidence is below its genre's :data:`SUPPORT` level: the tagger that can
  name the genre hardly hears it, the answer is unsure (``support`` gives the evidence);
- **genres from the taggers** (:data:`TAGGER_GENRES`: electronic, folk, soul, punk): a track the head finds
  unlike everything it knows ("unknown") is named one of these when its evidence is at least
  :data:`NEW_GENRE` and more than any head genre's; its confidence is that evidence.

The MSD levels were chosen on GTZAN (``research/tagger_blend.py``, on the published taggrams of the 443
fault-filtered training tracks), so the taggers judge only answers of GTZAN's genres (:func:`judged`), in any
model that reads them: a library's own model (``genrefuse learn``) keeps their word on its GTZAN genres and
answers its own genres by its own calibration; only a model of GTZAN's genres alone is given genres from the
taggers (:func:`heard_on_gtzan`). No MTT
taggram of GTZAN is published, so MTT's two levels are fixed, not measured on GTZAN: classical's support is
the styles' floor (:data:`~genrefuse.pretrained.styles.FLOOR`), and MTT's techno names electronic only where
MTT says yes (:data:`MTT_SAYS`, its sigmoid's decision point).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from ..genres import GTZAN_GENRES
from ..pretrained.styles import FLOOR
from ..pretrained.weights import MSD, MSD_TAGS, MTT, MTT_TAGS

# genre -> {tagger: the tags that name it}, for genres a GTZAN head knows
EVIDENCE: dict[str, dict[str, tuple[str, ...]]] = {
    "blues": {MSD: ("blues",)}, "country": {MSD: ("country",)}, "hiphop": {MSD: ("Hip-Hop",)},
    "jazz": {MSD: ("jazz",)}, "metal": {MSD: ("metal", "heavy metal")}, "pop": {MSD: ("pop", "indie pop")},
    "rock": {MSD: ("rock", "classic rock", "hard rock", "alternative rock", "indie rock", "Progressive rock")},
    "classical": {MTT: ("classical",)},
}

# genres a GTZAN head lacks and the taggers name
TAGGER_GENRES: dict[str, dict[str, tuple[str, ...]]] = {
    "electronic": {MSD: ("electronic", "electronica", "electro", "House"), MTT: ("techno", "electronic")},
    "folk": {MSD: ("folk",)}, "soul": {MSD: ("soul", "rnb")}, "punk": {MSD: ("punk",)},
}

# The lowest evidence that disputes an answer: chosen by `research/tagger_blend.py` on the published MSD
# taggrams of GTZAN's 443 fault-filtered training tracks alone, as the lowest at which at most 5% of them
# would have their true genre disputed (4.7% at 0.44). Another genre at this level disputes the answer even
# where the answer's own evidence is higher (two genres heard strongly): on GTZAN's MSD taggrams that never
# happens (every rival at 0.44 or more is above the true genre's own), so the level and rate are the same;
# on real-dev it flags solo-piano pieces that MSD hears as jazz and MTT as classical.
DISPUTE = 0.44

# The least evidence a sure answer of each genre needs: for MSD's genres, the highest level under which at
# most 5% of GTZAN's 443 fault-filtered training tracks of that genre fall (`research/tagger_blend.py`,
# recomputed by a test: 4.3-4.9% of them), so that few true answers lose their sureness on GTZAN; for
# classical (MTT's tag, no GTZAN taggram to measure it on), the floor from which a tag is shown at all
# (styles.FLOOR, 0.2), not a measured level.
SUPPORT: dict[str, float] = {"blues": 0.047, "country": 0.094, "hiphop": 0.038, "jazz": 0.509, "metal": 0.038,
                             "pop": 0.175, "rock": 0.215, "classical": FLOOR}

# The least evidence that names a genre from the taggers: the strength at which a tagger already overrules
# the head (DISPUTE). Checked on GTZAN alone (MSD): of the 443 fault-filtered training tracks, none that the
# head finds unknown (held-out familiarity) gets a tagger genre at it.
NEW_GENRE = DISPUTE

# MTT's word for a genre the head lacks (techno, for electronic) counts only where MTT says yes: at its sigmoid's
# decision point, fixed before looking (MTT's levels cannot be measured on GTZAN). Without it, the shared
# GTZAN clip hiphop.00000 (MTT techno 0.44-0.49, by how many patches are heard) was named electronic.
MTT_SAYS = 0.5

_INDEX = {MSD: {t: i for i, t in enumerate(MSD_TAGS)}, MTT: {t: i for i, t in enumerate(MTT_TAGS)}}


def of_tags(*, msd: np.ndarray | None, mtt: np.ndarray | None = None) -> dict[str, float]:
    """Each genre's evidence (:data:`EVIDENCE` and :data:`TAGGER_GENRES`) from the taggers' mean tag scores
    (``(50,)`` each; None: not heard), rounded to 4 places; a genre none of whose taggers was heard is absent.
    MTT's tags for a genre the head lacks count from :data:`MTT_SAYS` up."""
    heard = {MSD: msd, MTT: mtt}
    out = {}
    for genre, sources in {**EVIDENCE, **TAGGER_GENRES}.items():
        scores = [float(heard[t][_INDEX[t][tag]]) for t, tags in sources.items() if heard[t] is not None for tag in tags
                  if not (t == MTT and genre in TAGGER_GENRES and heard[t][_INDEX[t][tag]] < MTT_SAYS)]
        if any(heard[t] is not None for t in sources):
            out[genre] = round(max(scores, default=0.0), 4)
    return out


def from_styles(styles: Iterable[tuple[str, float]] | None) -> dict[str, float]:
    """The MSD evidence that a record of the tagger's styles alone (tags scored ``FLOOR`` or more) still
    shows: a genre with a tag among them (tracks stored before the evidence was kept)."""
    scores = {str(n).lower(): float(v) for n, v in styles or []}
    out = {}
    for genre, sources in {**EVIDENCE, **TAGGER_GENRES}.items():
        found = [scores[t.lower()] for t in sources.get(MSD, ()) if t.lower() in scores]
        if found:
            out[genre] = max(found)
    return out


def rival(genre: str, ev: Mapping[str, float], genres: Iterable[str], *, threshold: float = DISPUTE) -> str | None:
    """The genre (of ``genres``, other than ``genre``) with the most evidence when that is at least
    ``threshold``: it contradicts ``genre``, whether or not ``genre``'s own evidence is higher; else None."""
    genres = set(genres)
    others = [(v, g) for g, v in ev.items() if g in genres and g in EVIDENCE and g != genre]
    if not others:
        return None
    best, name = max(others)
    return name if best >= threshold else None


def unsupported(genre: str, ev: Mapping[str, float]) -> bool:
    """Whether the taggers that can name ``genre`` were heard and hardly hear it (below :data:`SUPPORT`)."""
    return genre in SUPPORT and genre in ev and ev[genre] < SUPPORT[genre]


def contradicts(answer: str, tagged: Iterable[str], ev: Mapping[str, float]) -> bool:
    """Whether the taggers' evidence ``ev`` sides with ``answer`` against a file's ``tagged`` genres: they hear
    ``answer`` strongly (:data:`DISPUTE` or more) and hardly hear any tagged genre (each under its :data:`SUPPORT`
    level). Where they have no word for the answer or for a tagged genre, or were not heard, they settle nothing
    (False): the model and the tag merely disagree."""
    tagged = list(tagged)
    if not tagged or ev.get(answer, 0.0) < DISPUTE:
        return False
    return all(g in SUPPORT and g in ev and ev[g] < SUPPORT[g] for g in tagged)


def tagger_genre(ev: Mapping[str, float], *, exclude: Iterable[str] = (), threshold: float = NEW_GENRE,
                 only: Iterable[str] | None = None) -> tuple[str, float] | None:
    """``(genre, evidence)`` of the taggers' genre (:data:`TAGGER_GENRES`, or ``only`` those of them, less
    ``exclude``: those a model knows itself) when its evidence is at least ``threshold`` and more than any :data:`EVIDENCE` genre's;
    else None."""
    exclude = set(exclude)
    candidates = [(ev[g], g) for g in (only if only is not None else TAGGER_GENRES) if g not in exclude and g in ev]
    if not candidates:
        return None
    score, genre = max(candidates)
    if score < threshold or score <= max((ev[g] for g in EVIDENCE if g in ev), default=0.0):
        return None
    return genre, score


# genres the packaged model learns from real recordings beside GTZAN's ten (training.default_model: those with
# enough real examples of them); a model of these and GTZAN's is still given the other genres from the taggers
LEARNT_FROM_REAL = frozenset({"electronic", "latin", "rnb"})


def heard_on_gtzan(genres: Iterable[str]) -> bool:
    """Whether a model's genres are all among GTZAN's ten (on whose tracks the taggers' levels were chosen) and
    the packaged model's genres learnt from real recordings (:data:`LEARNT_FROM_REAL`): only such a model is
    given genres from the taggers (a library's own model names its own)."""
    return all(judged(g) or g in LEARNT_FROM_REAL for g in genres)


def judged(genre: str) -> bool:
    """Whether the taggers judge (dispute, support) an answer of ``genre``: one of GTZAN's ten, on whose
    tracks their levels were chosen. A library's own genre is not judged, whatever the taggers hear: its
    tracks may be what they call another genre (a library's "big band" is jazz to MSD)."""
    return genre in GTZAN_GENRES
