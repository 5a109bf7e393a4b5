"""One model handle: a saved model as a library or a service holds it.

What every face needs at once (identity, genres, answer rules, the recipe of its inputs) is read from the
model folder when the handle is made; the model itself is loaded on first use. A handle never changes: a
library that learns a new model makes a new handle and swaps it in with one assignment, so a request that
took the old handle finishes with the old model, its id and its thresholds together.
"""
from __future__ import annotations

import threading
from pathlib import Path

from ..features.params import recipe_id
from ..models.bundle import model_info
from ..models.verdict import Rules, Verdict
from .predict import GenreModel


class ModelHandle:
    """A model folder's identity, genres, :class:`~genrefuse.models.verdict.Rules` and input recipe; the
    :class:`GenreModel` loaded on first use (once, whichever thread asks first)."""

    def __init__(self, folder: str | Path, *, min_confidence: float | None = None,
                 min_familiarity: float | None = None):
        info = model_info(folder)
        self.folder: Path = info.folder
        self.id: str = info.id
        self.genres: tuple[str, ...] = info.genres
        self.rules: Rules = info.rules.with_options(min_confidence=min_confidence, min_familiarity=min_familiarity)
        self._options = {"min_confidence": min_confidence, "min_familiarity": min_familiarity}     # the user's
        self.recipe: str = recipe_id(info.feature_params, info.window_policy)
        self.options: dict = info.options           # what `learn` was asked (relearning repeats it)
        self._model: GenreModel | None = None
        self._lock = threading.Lock()

    @property
    def answers(self) -> tuple[str, ...]:
        """Every genre this model can answer: its head's, then those it names from the tagger."""
        return self.genres + self.rules.tagger_genres

    @property
    def model(self) -> GenreModel:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = GenreModel.load(self.folder, **self._options)
        return self._model

    def judge(self, genre: str, confidence: float, familiarity: float | None = None, *,
              confirmed: bool = False, heard=None) -> Verdict:
        """This model's verdict on a stored answer (see :meth:`Rules.judge`)."""
        return self.rules.judge(genre, confidence, familiarity, confirmed=confirmed, heard=heard)

    def __repr__(self) -> str:
        return f"ModelHandle({self.id}, {self.folder})"
