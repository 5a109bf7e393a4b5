"""A library's own model: labels from confirmed corrections and (``from_tags``) the genre tags its files
came with, features from the library's cache, on top of a base model's training rows; then every track
gets the new model's opinion (its ``suggestion``), held out for the tracks it learned from.

Learning adds genres, never silently removes one: on top of the packaged model, every genre it learnt from
examples is in its training rows, and the genres it names from the musicnn taggers (folk, soul, punk) stay
named so (the card's ``kept``), whatever the library's tags hold; a library genre with too few examples is
left out and named on the card.

Labels: a confirmed genre is the label. Otherwise, with ``from_tags``, each genre the file's tag named
(split on ``;`` ``,`` ``/`` ``|``, mapped through the vocabulary; a name it does not know becomes a new
genre of the library): a file tagged with several genres counts as an example of each.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import select

from ..errors import AudioError, DataError
from ..genres import split_genre_tag
from ..models.bundle import Bundle, load_bundle, model_folder, model_id
from ..models.training_rows import TrainingRows, join
from ..preprocess.cache import complete
from ..preprocess.track import ModelInputs
from ..progress import progress_bar
from ..tagging import read_metadata
from . import store
from .db import Track
from .features import load_features, recipe_id, save_features
from .library import Library

BASES = ("default", "none")

log = logging.getLogger(__name__)


@dataclass
class LearnReport:
    model_dir: Path
    card: dict
    labelled: int = 0
    from_tags: int = 0
    confirmed: int = 0
    computed: int = 0                 # tracks whose features were not cached yet (decoded once)
    failures: list[str] = field(default_factory=list)
    left_out: int = 0                 # labelled tracks none of whose genres had enough examples to be learned
    confirmed_tracks: set[str] = field(default_factory=set, repr=False)


def track_labels(lib: Library, track: Track, *, from_tags: bool) -> list[str]:
    """The genres ``track`` is an example of (see the module's docstring); empty when none."""
    if track.confirmed:
        return [track.genre]
    if not from_tags:
        return []
    names = track.file_genres
    if names is None:                 # ingested before file tags were recorded: read them from the file
        names = split_genre_tag(read_metadata(lib.audio_path(track)).genres)
    out = []
    for name in names:
        try:
            out.append(lib.vocabulary.get(name) or lib.vocabulary.new_name(name))
        except DataError:
            continue                  # a tag value that cannot be a genre name ("unknown", a path)
    return list(dict.fromkeys(out))


def track_features(lib: Library, track: Track, model) -> tuple[ModelInputs, bool]:
    """A track's cached rows, or, when missing, computed from its file (and cached); and whether they were
    computed."""
    identity = track.audio_hash or track.content_hash        # rows from before audio identities: their bytes
    cached = load_features(lib.dir, identity, lib.recipe)
    if complete(cached, model.bundle):
        return cached, False
    inputs = model.preprocess(lib.audio_path(track))
    save_features(lib.dir, identity, lib.recipe, inputs)
    return inputs, True


def library_rows(lib: Library, *, from_tags: bool, progress: bool = True, reader=None
                 ) -> tuple[TrainingRows, LearnReport, dict]:
    """The labelled rows of the library (one per track), a report, and every track's features (as ``reader``
    computes them, a :class:`~genrefuse.inference.predict.GenreModel`: default the library's model)."""
    report = LearnReport(lib.dir / store.MODEL, {})
    with lib.Session() as s:
        tracks = s.scalars(select(Track).order_by(Track.id)).all()
    table, tags, deep, labels, ids, features = [], [], [], [], [], {}
    model = reader or lib.model
    if not model.bundle.uses_tags:
        raise DataError(f"{lib.dir}: its model ({lib.model_dir}) reads no musicnn taggrams, which a library's own "
                        f"model learns from; learn with the packaged one (--model default)")
    log.info("reading the features of %d tracks (decoding those not cached yet)", len(tracks))
    for t in progress_bar(tracks, progress=progress, desc="features", unit="track"):
        try:
            inputs, computed = track_features(lib, t, model)
        except AudioError as exc:
            report.failures.append(f"track {t.id}: {exc}")
            continue
        report.computed += computed
        features[t.id] = inputs
        genres = track_labels(lib, t, from_tags=from_tags)
        if not genres:
            continue
        if t.confirmed:
            report.confirmed_tracks.add(f"track-{t.id}")
        mean = track_mean(inputs)         # one row per track, so that each track counts once
        for g in genres:
            table.append(mean.table)
            tags.append(mean.tags)
            deep.append(mean.deep)
            labels.append(g)
            ids.append(f"track-{t.id}")
    if not labels:
        raise DataError(f"{lib.dir}: no labelled tracks to learn from (confirm or correct some with `genrefuse library "
                        f"relabel`, or use --from-tags for the genre tags the files carry)")
    deep_rows = None if any(d is None for d in deep) else np.concatenate(deep)
    return TrainingRows(np.concatenate(table), np.concatenate(tags), labels, ids, deep_rows), report, features


def _count_examples(report: LearnReport, rows: TrainingRows, learned: set[str]) -> None:
    """How many library tracks the model learned from (a track whose genres were all left out for too few
    examples does not count), how many of them confirmed and how many from their tags."""
    labelled = set(rows.tracks)
    used = {t for t, g in zip(rows.tracks, rows.labels) if g in learned}
    report.labelled, report.left_out = len(used), len(labelled - used)
    report.confirmed = len(used & report.confirmed_tracks)
    report.from_tags = report.labelled - report.confirmed


def learn_library(lib: Library, *, from_tags: bool = False, base: str = "default", min_examples: int | None = None,
                  seed: int = 0, progress: bool = True) -> LearnReport:
    """Fit the library's model into ``LIBRARY/model`` (replaced whole) and refresh every track's suggestion
    (``min_examples``: tracks a genre needs, default :data:`~genrefuse.training.learn.MIN_EXAMPLES`).
    Needs the ``[train]`` extra; the rest of the library does not."""
    from ..training.learn import KIND, KIND_DEEP, MIN_EXAMPLES, learn_rows    # here: PyTorch loads only for learning

    min_examples = MIN_EXAMPLES if min_examples is None else min_examples
    if base not in BASES:
        raise DataError(f"unknown base {base!r}; choose from {', '.join(BASES)}")
    base_dir = model_folder(None)
    base_bundle = load_bundle(base_dir)                 # its rows and window policy
    reader = lib.model
    same_inputs = recipe_id(base_bundle.feature_params.to_dict(), base_bundle.window_policy.to_dict()) == lib.recipe
    if base == "default" and base_bundle.uses_deep and not reader.bundle.uses_deep and same_inputs:
        from ..inference.predict import load_model      # a library that learnt before the penultimate features

        reader = load_model(None)       # were an input: its tracks' features computed as the packaged model does
    rows, report, features = library_rows(lib, from_tags=from_tags, progress=progress, reader=reader)
    parts = [rows]
    if base == "default":
        base_rows = base_bundle.training_rows
        if base_rows is None or base_rows.tags is None:
            raise DataError(f"{base_dir}: the packaged model keeps no training rows; rebuild it with `make default-model`")
        parts.insert(0, base_rows)
    log.info("fitting and cross-validating (%d library tracks%s)", len(set(rows.tracks)),
             " and the packaged model's training rows" if base == "default" else "")
    joined = join(parts)
    kind = KIND_DEEP if rows.deep is not None else KIND     # only where the library's own rows have them
    if kind == KIND:
        joined.deep = None
    learned = learn_rows(joined, kind=kind, seed=seed, min_examples=min_examples, own=set(rows.tracks))
    bundle = learned.bundle
    if base == "default":       # learning adds, never removes: the packaged model's genres from the taggers stay
        kept = [g for g in base_bundle.rules.tagger_genres if g not in bundle.genres]
        bundle.extra["tagger_genres"] = kept
        learned.card["kept"] = {g: "named from the musicnn taggers, as the packaged model names it (too few tags to "
                                   "learn it here)" for g in kept}
        for g in kept:
            if g in learned.card["left_out"]:
                learned.card["left_out"][g]["why"] += "; kept from the packaged model (named from the taggers)"
    _count_examples(report, rows, set(bundle.genres))
    bundle.window_policy = base_bundle.window_policy          # the same windows, so the cache stays valid
    counts = Counter(dict(zip(rows.tracks, rows.labels)).values())
    bundle.extra["card"].update({
        "name": f"library {lib.dir.name}",
        "summary": f"the genres of the library {lib.dir.resolve()}, learned from {report.labelled} of its tracks"
                   + (f" on top of the packaged model's {len(base_rows)} training rows (GTZAN's and real recordings')"
                      if base == "default" else ""),
        "training_data": f"{report.confirmed} confirmed and {report.from_tags} tagged library tracks"
                         + (f", and the packaged model's {len(base_rows)} training rows (GTZAN's 443 fault-filtered "
                            "training tracks and real recordings)" if base == "default" else ""),
        "base": base, "library_tracks_per_genre": dict(sorted(counts.items())),
        "options": {"from_tags": from_tags, "base": base, "min_examples": min_examples, "seed": seed},
        "limits": ["labels from files' own tags are trusted as they are: a wrong tag teaches a wrong example "
                   "(`genrefuse library review` lists the tracks the model confidently disagrees with)",
                   "figures are cross-validated within the labels: an estimate, not a test"]})
    log.info("saving the model and refreshing every track's suggestion")
    bundle.save(report.model_dir)
    report.card = learned.card
    for g in bundle.genres:
        if g not in lib.vocabulary.genres:
            lib.add_genre(g)
    refresh_suggestions(lib, bundle, model_id(report.model_dir), features, learned.held_out)
    if lib.model_dir.resolve() == report.model_dir.resolve() or lib.model_dir.resolve() == base_dir.resolve():
        lib.use_model(report.model_dir)         # a library that named another model keeps it
        with lib.Session() as s:
            lib.flag_unsure(s)                  # its threshold and floor are the library's now
    return report


def confirmed_labels(lib: Library) -> str:
    """A digest of every confirmed (track, genre): it changes with any correction, also of a track that was
    confirmed before."""
    import hashlib

    with lib.Session() as s:
        rows = s.execute(select(Track.id, Track.genre).where(Track.confirmed.is_(True)).order_by(Track.id)).all()
    return hashlib.sha256("\n".join(f"{i}\t{g}" for i, g in rows).encode()).hexdigest()


def relearn_if_corrected(lib: Library, seen: str) -> str:
    """Learn again, with the options of the last `learn`, when the confirmed labels changed since ``seen``
    (a :func:`confirmed_labels` digest); returns the digest now. Nothing happens for a library that never
    learned."""
    from ..models.bundle import is_model_folder, model_info

    own = lib.dir / store.MODEL
    now = confirmed_labels(lib)
    if now == seen or not is_model_folder(own):
        return now
    options = model_info(own).options
    learn_library(lib, progress=False, **{k: options[k] for k in ("from_tags", "base", "min_examples", "seed")
                                           if k in options})
    return now


def refresh_suggestions(lib: Library, bundle: Bundle, mid: str, features: dict[int, ModelInputs],
                        held_out: dict[str, np.ndarray]) -> None:
    """Store the opinion of ``bundle`` (saved with id ``mid``) of every track: held out (cross-validated) for
    those it learned from."""
    ids = list(features)
    if not ids:
        return
    means = ModelInputs.concat([track_mean(features[i]) for i in ids])
    proba = bundle.probabilities(means)                         # one batch for the whole library
    for k, i in enumerate(ids):
        if f"track-{i}" in held_out:
            proba[k] = held_out[f"track-{i}"]
    best = proba.argmax(axis=1)
    fam = bundle.familiarity()
    distance = fam.distance(bundle.weighted_rows(means.table, means.tags))
    with lib.Session() as s:
        for k, i in enumerate(ids):
            t = s.get(Track, i)
            if t is None:
                continue
            genre = bundle.genres[best[k]]
            v = bundle.rules.judge(genre, float(proba[k, best[k]]), float(fam.of_distance(distance[k], genre)),
                                   heard=t.heard)
            t.suggestion = {k_: v.fields()[k_] for k_ in ("genre", "confidence", "unsure", "familiarity", "unknown",
                                                          "disputed_by", "support")} \
                | {"held_out": f"track-{i}" in held_out, "model_id": mid}
        s.commit()


def track_mean(inputs: ModelInputs) -> ModelInputs:
    """A track's windows averaged into one row (what a library model learns from and is asked about)."""
    mean = lambda a: None if a is None else a.mean(axis=0, keepdims=True)  # noqa: E731
    return ModelInputs(mean(inputs.table), tags=mean(inputs.tags), deep=mean(inputs.deep))
