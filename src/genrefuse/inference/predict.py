"""Prediction with a saved model, in three steps: preprocess (the model's windows -> inputs), forward
(probabilities per window), postprocess (windows averaged -> :class:`Prediction`).

The model is loaded once for all files; nothing here imports the training code.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import GenrefuseError, ModelError, unforeseen
from ..models.bundle import Bundle, load_bundle, model_folder
from ..models.predictor import Predictor, resolve_device
from ..models import evidence
from ..models.verdict import Verdict
from ..preprocess.track import ModelInputs, track_inputs
from ..features.columns import tempo_of
from ..pretrained.styles import energy_of, moods_of, styles_of

BACKENDS = ("auto", "onnx", "torch")


@dataclass
class Prediction:
    """The genre of one track.

    Attributes
    ----------
    path : str or None
        The file predicted, or None for a waveform.
    genre : str
        The most probable genre.
    probabilities : dict[str, float]
        Every genre's probability, in the model's genre order; they sum to 1.
    windows : int
        How many analysis windows were averaged (one for a clip of up to 30 s).
    confidence : float
        The probability of ``genre`` (calibrated where the model was calibrated on held-out data).
    unsure : bool
        ``confidence`` is below the model's threshold (or the one asked for): treat the answer as a guess.
    familiarity : float or None
        How close the track is to the model's training data, in [0, 1]: the share of held-out known tracks
        that were farther (None for a model that keeps no training rows).
    unknown : bool
        ``familiarity`` is below the model's floor: the track is unlike every genre the model knows
        ("none of these"); ``genre`` is then only the closest.
    styles : list of (str, float)
        The musicnn tagger's genre-like tags at or above their floor, best first (for models that read
        the tagger).
    disputed_by : str or None
        Another genre the taggers hear strongly (at the dispute level, :mod:`genrefuse.models.evidence`; then
        ``unsure`` is true: the experts disagree).
    support : float or None
        The taggers' evidence for ``genre`` (None where they have no word for it); under its genre's level
        the answer is unsure.
    moods : list of (str, float)
        The MSD tagger's mood-like tags (happy, sad, mellow, chill, party, ...) whose score ranks among the top
        10% of GTZAN's tracks, with that rank (0.9..1), best first (for models that read the tagger; the tagger's
        own word, not measured by genrefuse: :mod:`genrefuse.pretrained.styles`).
    bpm : float or None
        The tempo in beats per minute (the table's tempo estimate, the mean over the analysed windows).
    energy : float or None
        How loud and fast it sounds to the MTT tagger, 0..1 (:func:`~genrefuse.pretrained.styles.energy_of`;
        None for a model that does not hear it).
    evidence : dict[str, float]
        Each genre the taggers have a word for: their evidence (:mod:`genrefuse.models.evidence`; empty for a
        model that does not hear them).
    known_by : str
        ``"model"``, or ``"tagger"`` for a genre the model's head lacks and the musicnn tagger names (for a
        track the head finds unknown; ``confidence`` is then the tagger's evidence).
    """

    path: str | None
    genre: str
    probabilities: dict[str, float]
    windows: int
    confidence: float = 0.0
    unsure: bool = False
    familiarity: float | None = None
    unknown: bool = False
    styles: list[tuple[str, float]] = field(default_factory=list)
    disputed_by: str | None = None
    known_by: str = "model"
    support: float | None = None
    evidence: dict[str, float] = field(default_factory=dict)
    moods: list[tuple[str, float]] = field(default_factory=list)
    bpm: float | None = None
    energy: float | None = None

    @property
    def verdict(self) -> Verdict:
        """The answer's part of this prediction, as every face reads it."""
        return Verdict(self.genre, self.confidence, self.unsure, self.unknown, self.familiarity,
                       disputed_by=self.disputed_by, known_by=self.known_by, support=self.support)

    @property
    def answer(self) -> str:
        """``genre``, or ``unknown`` when the track is unlike all the model's genres."""
        return self.verdict.answer

    def top(self, k: int = 3) -> list[tuple[str, float]]:
        """The ``k`` most probable ``(genre, probability)`` pairs, most probable first; a genre from the
        tagger (not among the model's) first, with its evidence, then the model's."""
        ranked = sorted(self.probabilities.items(), key=lambda kv: -kv[1])
        if self.genre not in self.probabilities:
            ranked = [(self.genre, self.confidence)] + ranked
        return ranked[:k]

    def to_json(self, top: int | None = None) -> dict:
        """``path``, the verdict's fields (``answer``: the genre or "unknown"; ``genre``, the closest for an
        unknown track; ``confidence``, ``unsure``, ``unknown``, ``familiarity``: see
        :meth:`~genrefuse.models.verdict.Verdict.fields`), ``top`` (the 3, or ``top``, most probable as
        ``{"genre", "probability"}``), ``probabilities`` (all, or the ``top`` most probable), ``windows``,
        ``styles`` and ``moods`` (``{"name", "score"}``), ``bpm``, ``energy`` and ``evidence`` (``{genre: score}``)."""
        probs = dict(self.top(top)) if top else self.probabilities
        return {"path": self.path, **self.verdict.fields(),
                "top": [{"genre": g, "probability": round(p, 6)} for g, p in self.top(top or 3)],
                "probabilities": {g: round(p, 6) for g, p in probs.items()}, "windows": self.windows,
                "styles": [{"name": n, "score": round(v, 4)} for n, v in self.styles], "moods": [{"name": n, "score": round(v, 4)} for n, v in self.moods],
                "bpm": self.bpm, "energy": self.energy, "evidence": dict(self.evidence)}


class GenreModel:
    """A loaded bundle that predicts genres from files or waveforms; its answer rules (:attr:`rules`) are
    the bundle's own thresholds with any given at load over them, fixed from then on."""

    def __init__(self, bundle: Bundle, *, predictor: Predictor | None = None, device: str = "cpu",
                 tag_backend: str = "auto", backend: str = "torch", min_confidence: float | None = None,
                 min_familiarity: float | None = None):
        self.bundle, self.device, self.tag_backend, self.backend = bundle, device, tag_backend, backend
        self.predictor = predictor or bundle.predictor(device=device)
        self.rules = bundle.rules.with_options(min_confidence=min_confidence, min_familiarity=min_familiarity)

    @property
    def min_confidence(self) -> float:
        return self.rules.min_confidence

    @property
    def min_familiarity(self) -> float:
        return self.rules.min_familiarity

    @classmethod
    def load(cls, path: str | Path | None = None, *, device: str = "auto", backend: str = "auto",
             min_confidence: float | None = None, min_familiarity: float | None = None) -> "GenreModel":
        """``backend``: 'auto' (ONNX Runtime when installed, for neural models on CPU, and for the musicnn
        tagger), 'onnx' or 'torch'. ``min_confidence``, ``min_familiarity``: thresholds over the model's own."""
        if backend not in BACKENDS:
            raise ModelError(f"unknown backend {backend!r}; choose from {', '.join(BACKENDS)}")
        path = model_folder(path)
        bundle = load_bundle(path)
        device = str(resolve_device(device)) if bundle.spec.neural else "cpu"
        predictor, used = None, "torch" if bundle.spec.neural else "numpy"
        if backend in ("auto", "onnx") and device == "cpu":
            from . import onnx

            predictor = onnx.predictor_for(bundle, Path(path))
            if predictor is None and backend == "onnx" and onnx.exportable(bundle):
                raise ModelError("ONNX Runtime cannot run this model here (pip install onnxruntime onnx)")
            used = "onnx" if predictor is not None else used
        return cls(bundle, predictor=predictor, device=device, tag_backend=backend, backend=used,
                   min_confidence=min_confidence, min_familiarity=min_familiarity)

    @property
    def genres(self) -> list[str]:
        return self.bundle.genres

    @property
    def params(self):
        return self.bundle.feature_params

    # ------------------------------------------------------------------ the three steps
    def preprocess(self, x: str | Path | np.ndarray, *, sr: int | None = None) -> ModelInputs:
        """The inputs of every window the model analyses (see :func:`~genrefuse.preprocess.track_inputs`);
        a waveform without ``sr`` is taken to be at the model's rate (22050 Hz)."""
        if not isinstance(x, (str, Path)) and sr is None:
            sr = self.params.sr
        b = self.bundle
        return track_inputs(x, sr=sr, params=self.params, policy=b.window_policy, mel=b.uses_mel, tags=b.uses_tags,
                            tag_backend=self.tag_backend, hear=b.uses_tags,     # MTT: evidence and embedding
                            deep=b.uses_deep)

    def forward(self, inputs: ModelInputs) -> np.ndarray:
        """Probabilities ``(n_windows, n_genres)`` of raw inputs (standardised by the bundle)."""
        return self.bundle.probabilities(inputs, predictor=self.predictor)

    def postprocess(self, proba: np.ndarray, *, path: str | None = None, inputs: ModelInputs | None = None
                    ) -> Prediction:
        """Per-window probabilities ``(n_windows, n_genres)`` -> the track's :class:`Prediction`; with the
        track's ``inputs``, also its familiarity, styles and the taggers' evidence."""
        mean = proba.mean(axis=0)
        best = int(np.argmax(mean))
        familiarity = None if inputs is None else self.bundle.familiarity_of(inputs, self.genres[best])
        styles, heard, moods = [], {}, []
        if inputs is not None and inputs.tags is not None:
            msd = inputs.tags[:, :50].mean(axis=0)
            styles, moods = styles_of(msd), moods_of(msd)
            if self.rules.hears:
                heard = evidence.of_tags(msd=msd, mtt=None if inputs.mtt is None else inputs.mtt.mean(axis=0))
        probabilities = {g: float(p) for g, p in zip(self.genres, mean)}
        v = self.rules.of(probabilities, familiarity, heard=heard)
        return Prediction(path, v.genre, probabilities, len(proba), confidence=v.confidence, unsure=v.unsure,
                          familiarity=v.familiarity, unknown=v.unknown, styles=styles, disputed_by=v.disputed_by,
                          known_by=v.known_by, support=v.support, evidence=heard, moods=moods,
                          bpm=None if inputs is None else tempo_of(inputs.table),
                          energy=None if inputs is None or inputs.mtt is None else energy_of(inputs.mtt.mean(axis=0)))

    # ------------------------------------------------------------------ what callers use
    def predict(self, x: str | Path | np.ndarray, *, sr: int | None = None) -> Prediction:
        """Genre of an audio file, or of a waveform (mono or ``(channels, samples)``) at ``sr`` Hz
        (default: the model's rate, 22050 Hz)."""
        path = str(x) if isinstance(x, (str, Path)) else None
        inputs = self.preprocess(x, sr=sr)
        return self.postprocess(self.forward(inputs), path=path, inputs=inputs)

    def predict_files(self, paths: Iterable[str | Path]) -> Iterator[tuple[str, Prediction | None, str | None]]:
        """``(path, prediction, None)`` or ``(path, None, one-line error)`` per file; the batch goes on."""
        for p in paths:
            try:
                yield str(p), self.predict(p), None
            except GenrefuseError as exc:
                yield str(p), None, str(exc)

    def predict_batch(self, paths: list[str | Path]) -> list[tuple[str, Prediction | None, str | None]]:
        """:meth:`predict_files` with one batched forward pass for all the files' windows."""
        done, results = [], []
        for p in paths:
            try:
                done.append((str(p), self.preprocess(p)))
            except GenrefuseError as exc:
                results.append((str(p), None, str(exc)))
            except Exception as exc:   # an unforeseen failure of one file must not stop the batch
                results.append((str(p), None, unforeseen(str(p), exc)))
        if done:
            proba = self.forward(ModelInputs.concat([inputs for _, inputs in done]))
            ends = np.cumsum([len(inputs) for _, inputs in done])
            for (p, inputs), rows in zip(done, np.split(proba, ends[:-1])):
                results.append((p, self.postprocess(rows, path=p, inputs=inputs), None))
        order = {str(p): i for i, p in enumerate(paths)}
        return sorted(results, key=lambda r: order[r[0]])


def load_model(path: str | Path | None = None, *, device: str = "auto", backend: str = "auto",
               min_confidence: float | None = None, min_familiarity: float | None = None) -> GenreModel:
    """Load a saved model folder (``model.safetensors`` + ``config.json``, or a run folder holding one in
    ``model/``; None or ``"default"``: the packaged default model); executes no code.
    Neural models run through ONNX Runtime on CPU when it is installed (``backend='torch'`` to avoid it).
    ``min_confidence`` and ``min_familiarity`` replace the model's own thresholds (None: keep them)."""
    return GenreModel.load(path, device=device, backend=backend, min_confidence=min_confidence,
                           min_familiarity=min_familiarity)


@functools.lru_cache(maxsize=4)
def cached_model(path: str, *, backend: str = "auto") -> GenreModel:
    """The model of this process for ``path``, loaded on first use (worker pools call this per task)."""
    return load_model(path, device="cpu", backend=backend)
