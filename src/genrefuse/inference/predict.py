"""Prediction with a saved model: every model kind predicts from audio.

Tracks longer than the analysis window are cut into consecutive windows whose probabilities are
averaged. The model is loaded once for all files.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio import check_signal, is_audio_path, load_windows, windows
from ..errors import GenrefuseError, ModelError
from ..features.clip import clip_inputs
from ..models.bundle import Bundle, load_bundle
from ..models.classic import ClassicModel
from ..training.run import bundle_proba


@dataclass
class Prediction:
    path: str | None
    genre: str
    probabilities: dict[str, float]      # genre -> p, in the model's genre order
    windows: int

    def top(self, k: int) -> list[tuple[str, float]]:
        return sorted(self.probabilities.items(), key=lambda kv: -kv[1])[:k]

    def to_json(self, top: int | None = None) -> dict:
        probs = dict(self.top(top)) if top else self.probabilities
        return {"path": self.path, "genre": self.genre, "probabilities": {g: round(p, 6) for g, p in probs.items()},
                "windows": self.windows}


class GenreModel:
    """A loaded bundle that predicts genres from files or waveforms."""

    def __init__(self, bundle: Bundle, *, device: str = "cpu", onnx=None, tag_backend: str = "auto"):
        self.bundle, self.device, self.onnx = bundle, device, onnx
        self.tag_backend = tag_backend              # which runtime computes musicnn taggrams

    @classmethod
    def load(cls, path: str | Path, *, device: str = "cpu", backend: str = "auto") -> "GenreModel":
        """``backend``: 'auto' (ONNX Runtime when installed, for neural models on CPU, and for the musicnn
        tagger), 'onnx' or 'torch'."""
        bundle = load_bundle(path)
        runner = None
        if backend in ("auto", "onnx") and device == "cpu":
            from . import onnx

            runner = onnx.runner_for(bundle, Path(path))
            if runner is None and backend == "onnx" and onnx.exportable(bundle):
                raise ModelError("ONNX Runtime is not installed (pip install onnxruntime)")
        return cls(bundle, device=device, onnx=runner, tag_backend=backend)

    @property
    def backend(self) -> str:
        return "onnx" if self.onnx is not None else ("sklearn" if isinstance(self.bundle.model, ClassicModel) else "torch")

    def proba_of_inputs(self, table: np.ndarray, mel: np.ndarray | None, tags: np.ndarray | None = None) -> np.ndarray:
        """Probabilities (n, n_genres) from raw table rows (n, 57), Mel inputs (n, n_mels, n_frames) and, for
        the musicnn kinds, taggram summaries (n, 100)."""
        if self.onnx is not None:
            p = self.params
            return self.onnx.probabilities(mel if self.bundle.uses_mel else None, self.bundle.standardise(table),
                                           n_mels=p.n_mels, n_frames=p.n_frames)
        return bundle_proba(self.bundle, table, mel, tags, device=self.device)

    def track_tags(self, x: str | Path | np.ndarray, *, sr: int | None = None) -> np.ndarray | None:
        """The musicnn summary (100,) of a whole track (patches over all of it), or None when the model
        has no musicnn branch. ``x``: a file, or a waveform at ``sr`` Hz."""
        if not self.bundle.uses_tags:
            return None
        from ..pretrained.embed import file_taggram, tag_summary, taggram

        if isinstance(x, (str, Path)):
            return tag_summary(file_taggram(x, backend=self.tag_backend))
        from ..features.musicnn_input import resample

        return tag_summary(taggram(resample(x, sr), backend=self.tag_backend))

    @property
    def genres(self) -> list[str]:
        return self.bundle.genres

    @property
    def params(self):
        return self.bundle.feature_params

    def window_inputs(self, clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Raw table rows (n, 57) and Mel inputs (n, n_mels, n_frames) or None, for the model's needs."""
        pairs = [clip_inputs(c, params=self.params) for c in clips]
        table = np.stack([t for _, t in pairs])
        mel = np.stack([m for m, _ in pairs]) if self.bundle.uses_mel else None
        return table, mel

    def proba_of_windows(self, clips: list[np.ndarray], tags: np.ndarray | None = None) -> np.ndarray:
        """Mean probability over a track's windows, shape (n_genres,); ``tags``: the track's musicnn summary."""
        table, mel = self.window_inputs(clips)
        rep = None if tags is None else np.repeat(tags[None], len(clips), axis=0)
        return self.proba_of_inputs(table, mel, rep).mean(axis=0)

    def _result(self, path: str | None, proba: np.ndarray, n: int) -> Prediction:
        return Prediction(path, self.genres[int(np.argmax(proba))],
                          {g: float(p) for g, p in zip(self.genres, proba)}, n)

    def predict(self, x: str | Path | np.ndarray, *, sr: int | None = None) -> Prediction:
        """Genre of an audio file, or of a waveform (mono or (channels, samples)) at ``sr`` Hz
        (default: the model's rate)."""
        if isinstance(x, (str, Path)):
            clips = load_windows(x, sr=self.params.sr, window=self.params.window_seconds)
            return self._result(str(x), self.proba_of_windows(clips, self.track_tags(x)), len(clips))
        y = check_signal(np.asarray(x))
        if sr is not None and sr != self.params.sr:
            import librosa

            y = librosa.resample(y, orig_sr=sr, target_sr=self.params.sr).astype(np.float32)
        clips = windows(y, sr=self.params.sr, window=self.params.window_seconds)
        return self._result(None, self.proba_of_windows(clips, self.track_tags(y, sr=self.params.sr)), len(clips))

    def predict_files(self, paths: Iterable[str | Path]) -> Iterator[tuple[str, Prediction | None, str | None]]:
        """(path, prediction, None) or (path, None, one-line error) per file; the batch goes on."""
        for p in paths:
            try:
                yield str(p), self.predict(p), None
            except GenrefuseError as exc:
                yield str(p), None, str(exc)


def load_model(path: str | Path, *, device: str = "cpu", backend: str = "auto") -> GenreModel:
    """Load a saved model folder (``model.safetensors`` + ``config.json``); executes no code.
    Neural models run through ONNX Runtime when it is installed (``backend='torch'`` to avoid it)."""
    return GenreModel.load(path, device=device, backend=backend)


def expand_inputs(inputs: Iterable[str | Path]) -> Iterator[Path]:
    """Files as given (so that a bad one is reported), folders walked for audio files in sorted order."""
    for inp in inputs:
        p = Path(inp)
        if p.is_dir():
            yield from sorted(q for q in p.rglob("*") if q.is_file() and is_audio_path(q))
        else:
            yield p
