"""genrefuse: music genre classification by CNN + MLP feature fusion, and a genre-filed music library."""
__version__ = "0.1.0"


def load_model(path, *, device: str = "cpu"):
    """Load a saved model folder; ``.predict(path_or_waveform)`` gives its genre and probabilities."""
    from .inference.predict import load_model as _load

    return _load(path, device=device)


__all__ = ["__version__", "load_model"]
