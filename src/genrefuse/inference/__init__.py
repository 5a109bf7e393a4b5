"""Using a trained model: prediction on files and waveforms, and library-wide batch classification."""
from .predict import GenreModel, Prediction, load_model

__all__ = ["GenreModel", "Prediction", "load_model"]
