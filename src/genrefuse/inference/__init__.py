"""Using a trained model: prediction on files and waveforms."""
