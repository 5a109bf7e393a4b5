"""Writing predicted genres into files' own tags (``genrefuse tag``): predict -> decide -> write.

A file is left as it is when the answer is unsure (below ``min_confidence``), when it already has a
genre and ``keep_existing`` is set, when its format is one that is not tagged (wav, au), and under
``dry_run``; each of those is reported, as is a file that cannot be read or written.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..audio import header, iter_audio_files
from ..errors import AudioError
from ..genres import Vocabulary
from ..tagging import TAGGABLE, read_tags, write_genre
from .predict import GenreModel

# what happened to a file
TAGGED, WOULD_TAG, KEPT, UNSURE, SKIPPED, FAILED = "tagged", "would tag", "kept", "unsure", "skipped", "failed"


@dataclass(frozen=True)
class TagOutcome:
    path: str
    action: str                  # one of the constants above
    value: str | None = None     # the genre text written (or that would be)
    detail: str = ""             # why a file was left alone, or the error

    @property
    def failed(self) -> bool:
        return self.action == FAILED


def genre_text(probabilities: dict[str, float], *, top: int = 1, separator: str = "; ") -> str:
    """The tag value: the ``top`` most probable genres by their display names, most probable first."""
    ranked = sorted(probabilities.items(), key=lambda kv: -kv[1])[:max(1, top)]
    return separator.join(Vocabulary.display(g) for g, _ in ranked)


def tag_files(inputs: Iterable[str | Path], model: GenreModel, *, dry_run: bool = False,
              min_confidence: float | None = None, keep_existing: bool = False, top: int = 1,
              separator: str = "; ") -> Iterator[TagOutcome]:
    """Predict each file's genre and write it into the file's genre tag, one outcome per file."""
    threshold = model.min_confidence if min_confidence is None else min_confidence
    for path, pred, err in model.predict_files(iter_audio_files(inputs)):
        if err:
            yield TagOutcome(str(path), FAILED, detail=err)
            continue
        value = genre_text(pred.probabilities, top=top, separator=separator)
        try:
            kind = header(path).extension
            if kind not in TAGGABLE:
                yield TagOutcome(str(path), SKIPPED, value, f"{kind} files are left untagged")
                continue
            existing = read_tags(path).genres
            if keep_existing and existing:
                yield TagOutcome(str(path), KEPT, value, f"already tagged {'; '.join(existing)}")
                continue
            if pred.confidence < threshold:
                yield TagOutcome(str(path), UNSURE, value, f"confidence {pred.confidence:.2f} < {threshold:.2f}")
                continue
            if dry_run:
                yield TagOutcome(str(path), WOULD_TAG, value, f"confidence {pred.confidence:.2f}")
                continue
            write_genre(path, value, kind=kind)
            yield TagOutcome(str(path), TAGGED, value, f"confidence {pred.confidence:.2f}")
        except AudioError as exc:
            yield TagOutcome(str(path), FAILED, value, str(exc))
