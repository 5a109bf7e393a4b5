"""genrefuse: music genre classification by CNN + MLP feature fusion, and a genre-filed music library.

>>> import genrefuse
>>> model = genrefuse.load_model()                             # doctest: +SKIP
>>> model.predict("song.mp3").genre                            # doctest: +SKIP
'rock'
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .inference.predict import GenreModel, Prediction


def load_model(path: str | Path | None = None, *, device: str = "auto", backend: str = "auto",
               min_confidence: float | None = None, min_familiarity: float | None = None) -> "GenreModel":
    """Load a saved model folder (``RUN_DIR/model``, or a run folder that holds one); executes no code.

    Parameters
    ----------
    path : a model folder (``model.safetensors`` + ``config.json``), a run folder with ``model/``, or
        None (or ``"default"``) for the model shipped in the package (``genrefuse models`` describes it).
    device : ``auto`` (CUDA when present), ``cpu`` or ``cuda``; kNN and SVM always run on the CPU.
    backend : ``auto`` (ONNX Runtime for neural models on CPU and for the musicnn tagger, when
        installed), ``onnx`` or ``torch``.
    min_confidence, min_familiarity : thresholds over the model's own (None: the model's): below the first
        an answer is unsure, below the second unknown. They are fixed for the loaded model's life.

    Returns
    -------
    GenreModel, whose ``predict(path_or_waveform, sr=None)`` gives a :class:`Prediction`.
    """
    from .inference.predict import load_model as _load

    return _load(path, device=device, backend=backend, min_confidence=min_confidence,
                 min_familiarity=min_familiarity)


def __getattr__(name: str):
    if name in ("GenreModel", "Prediction"):     # lazily: importing genrefuse stays cheap
        from .inference import predict

        return getattr(predict, name)
    if name == "__version__":       # read when first asked for (one place: pyproject.toml, as installed); reading
        from importlib.metadata import PackageNotFoundError, version     # the metadata took 50 ms of a cold predict

        try:
            found = version("genrefuse")
        except PackageNotFoundError:        # run from a source tree that was never installed
            found = "0.0.0+unknown"
        globals()["__version__"] = found
        return found
    raise AttributeError(f"module 'genrefuse' has no attribute {name!r}")


__all__ = ["__version__", "load_model", "GenreModel", "Prediction"]
