"""Writing predicted genres into files' own tags (``genrefuse tag``): predict -> decide -> write.

A file is left as it is when the track is unknown (unlike every genre the model knows), when the answer
is unsure (below ``min_confidence``, or disputed by the taggers; unless ``include_unsure``), when it already has a
genre (unless ``force``), when its format is one that is not tagged (au), and under ``dry_run``; each of those is
reported, as is a file that cannot be read or written. A track of an album is never surer than its own evidence
(:func:`~.albums.within_album`): a track unsure on its own is left, whatever its album says.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..audio import header, iter_audio_files
from ..errors import AudioError, GenrefuseError
from ..genres import Vocabulary
from ..tagging import TAGGABLE, read_metadata, remove_stale_temporaries, write_genre
from ..display import confidence_text
from ..models.verdict import KEEP, SKIP_UNKNOWN, SKIP_UNSURE, WRITE
from .albums import album_verdict, group, within_album
from .predict import GenreModel

# what happened to a file
TAGGED, WOULD_TAG, KEPT, UNSURE, UNKNOWN, SKIPPED, FAILED = ("tagged", "would tag", "kept", "unsure", "unknown",
                                                           "skipped", "failed")


@dataclass(frozen=True)
class TagOutcome:
    path: str
    action: str                  # one of the constants above
    value: str | None = None     # the genre text written (or that would be)
    detail: str = ""             # why a file was left alone, or the error
    old: str | None = None       # the genre tag the file had before, if any

    @property
    def failed(self) -> bool:
        return self.action == FAILED


def genre_text(ranked: list[tuple[str, float]], *, top: int = 1, separator: str = "; ",
               styles: list[tuple[str, float]] | None = None, max_styles: int = 0) -> str:
    """The tag value: the first ``top`` of ``ranked`` genres (a prediction's ``top()``: the answer first) by
    their display names, then up to ``max_styles`` of ``styles`` that do not repeat them
    (``Pop; Dance; Electronic``)."""
    ranked = ranked[:max(1, top)]
    names = [Vocabulary.display(g) for g, _ in ranked]
    vocabulary = Vocabulary([g for g, _ in ranked])
    extra = [Vocabulary.display(n) for n, _ in styles or [] if vocabulary.get(n) is None][:max_styles]
    return separator.join(list(dict.fromkeys(names + extra)))


def tag_files(inputs: Iterable[str | Path], model: GenreModel, *, dry_run: bool = False, force: bool = False,
              top: int = 1, separator: str = "; ", follow_links: bool = False, styles: int = 0,
              moods: bool = False, album: bool = True, include_unsure: bool = False) -> Iterator[TagOutcome]:
    """Predict each file's genre and write it into the file's genre tag, one outcome per file, as the
    model's verdict decides (:meth:`~genrefuse.models.verdict.Verdict.tag_decision`: a file that has a genre
    tag keeps it unless ``force``; unknown and unsure answers are not written; thresholds are the model's,
    set when it was loaded; ``include_unsure`` writes unsure answers too); ``styles``: at most this many of the
    tagger's styles follow the genres in the tag; ``moods``: also write the tagger's moods (mood tag; nothing where it hears none) and the tempo (bpm
    tag), whatever becomes of the genre; ``album``: the tracks of a coherent album (by their album tags) get
    the album's genre (:mod:`.albums`), except those far from it, which keep their own and say so. A link found in a named folder that leads outside the named folders is left alone unless
    ``follow_links``; files named themselves are tagged wherever their links lead."""
    inputs = [Path(i) for i in inputs]
    roots = [os.path.realpath(i) for i in inputs if i.is_dir()]
    cleaned: set[Path] = set()
    paths = []
    for path in iter_audio_files(inputs):
        if not follow_links and path not in inputs and path.is_symlink() and not _inside(path, roots):
            yield TagOutcome(str(path), SKIPPED, None, f"a link to {os.path.realpath(path)}, outside the named "
                                                       "folders (--follow-links tags it)")
            continue
        if not dry_run and path.parent not in cleaned:
            cleaned.add(path.parent)
            remove_stale_temporaries(path.parent)
        paths.append(path)
    metas = {p: read_metadata(p) for p in paths} if album else {}        # read once: grouping, then old genres
    groups = group(paths, metas) if album else [[p] for p in paths]
    for files in groups:
        preds = {}
        for path in files:
            try:
                preds[path] = model.predict(path)
            except GenrefuseError as exc:
                yield TagOutcome(str(path), FAILED, detail=str(exc))
        done = [p for p in files if p in preds]
        whole = album_verdict(model.rules, [preds[p] for p in done]) if len(done) >= 2 else None
        for i, path in enumerate(done):
            pred = preds[path]
            extra = {"mood": separator.join(n for n, _ in pred.moods) or None, "bpm": pred.bpm} if moods else {}
            if whole is not None and i in whole.members:
                mine = within_album(model.rules, whole.genre, whole.verdict.confidence, pred.probabilities,
                                    pred.familiarity, pred.evidence)        # never surer than the track alone
                yield _tag_one(path, pred, rules=model.rules, dry_run=dry_run, force=force, extra=extra,
                               include_unsure=include_unsure, verdict=mine, meta=metas.get(path),
                               value=genre_text([(whole.genre, mine.confidence)], top=1, separator=separator),
                               note=f"; the album's genre ({whole.agree} of {len(done)} tracks say {whole.genre})")
                continue
            note = f"; far from its album's genre ({whole.genre}): its own kept, worth a look" \
                if whole is not None and i in whole.far else ""
            yield _tag_one(path, pred, rules=model.rules, dry_run=dry_run, force=force, extra=extra,
                           include_unsure=include_unsure, note=note, meta=metas.get(path),
                           value=genre_text(pred.top(max(1, top)), top=top, separator=separator, styles=pred.styles,
                                            max_styles=styles))


def _inside(path: Path, roots: list[str]) -> bool:
    target = os.path.realpath(path)
    return any(target == r or target.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _tag_one(path: Path, pred, *, rules, dry_run: bool, force: bool, value: str,
             extra: dict | None = None, verdict=None, note: str = "", meta=None, include_unsure: bool = False
             ) -> TagOutcome:
    v = verdict or pred.verdict                         # the album's, for a track of a coherent album
    threshold = rules.threshold(v.genre)
    try:
        kind = header(path).extension
        old = "; ".join((meta or read_metadata(path)).genres) or None
        if kind not in TAGGABLE:
            return TagOutcome(str(path), SKIPPED, value, f"{kind} files are left untagged (they have no tag block)",
                              old=old)
        decision = v.tag_decision(existing=bool(old), force=force, include_unsure=include_unsure)
        extra = {k: v for k, v in (extra or {}).items() if v is not None}
        also = ""
        if extra:
            also = "; " + ", ".join(f"{k} {v}" for k, v in extra.items()) + (" would be written" if dry_run else " written")
            if decision != WRITE and not dry_run:
                write_genre(path, None, kind=kind, **extra)      # moods and tempo, whatever becomes of the genre

        def outcome(action: str, *, detail: str) -> TagOutcome:
            return TagOutcome(str(path), action, value, detail + note + also, old=old)

        if decision == KEEP:
            return outcome(KEPT, detail="it already has a genre (--force replaces it)")
        if decision == SKIP_UNKNOWN:
            return outcome(UNKNOWN, detail=f"unlike every genre the model knows (familiarity {v.familiarity:.3f}); "
                                           f"closest {v.genre}")
        if decision == SKIP_UNSURE:
            why = f"the tagger hears {v.disputed_by}" if v.disputed_by else \
                f"confidence {confidence_text(v.confidence, threshold)} < {threshold:.2f}" if v.confidence < threshold \
                else f"the tagger hardly hears {v.genre} ({v.support or 0:.2f})"
            return outcome(UNSURE, detail=why + " (--include-unsure writes it)")
        said = f"confidence {confidence_text(v.confidence, threshold)}" + (", unsure" if v.unsure else "")
        if dry_run:
            return outcome(WOULD_TAG, detail=said)
        write_genre(path, value, kind=kind, **extra)
        return outcome(TAGGED, detail=said)
    except AudioError as exc:
        return TagOutcome(str(path), FAILED, value, str(exc))
