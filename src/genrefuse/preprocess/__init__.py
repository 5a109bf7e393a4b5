"""The one path from audio (a file or a waveform) to model inputs, window by window."""
from .track import ModelInputs, file_inputs, track_inputs

__all__ = ["ModelInputs", "file_inputs", "track_inputs"]
