"""Each numpy function of features/dsp.py against the librosa function it stands in for."""
import librosa
import numpy as np
import pytest

from genrefuse.datasets.synth import SYNTH_GENRES, render_clip
from genrefuse.features import dsp
from genrefuse.features import musicnn_input as mi

SR, N_FFT, HOP = 22050, 2048, 512


@pytest.fixture(scope="module")
def clips():
    rng = np.random.default_rng(3)
    noise = (0.1 * rng.standard_normal(3 * SR)).astype(np.float32)
    return [render_clip(g, seconds=4, index=2) for g in SYNTH_GENRES] + [noise]


def test_windows_filters_and_stft(clips):
    for n in (344, 512, 2048):
        assert np.array_equal(dsp.hann(n), librosa.filters.get_window("hann", n, fftbins=True))
    for sr, n_fft, n_mels in ((SR, N_FFT, 128), (16000, 512, 96)):
        assert np.abs(dsp.mel_filters(sr=sr, n_fft=n_fft, n_mels=n_mels)
                      - librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)).max() < 1e-9
    for tuning in (0.0, -0.23, 0.41):
        assert np.abs(dsp.chroma_filters(sr=SR, n_fft=N_FFT, tuning=tuning)
                      - librosa.filters.chroma(sr=SR, n_fft=N_FFT, tuning=tuning)).max() < 1e-7
    y = clips[0]
    for pad in ("constant", "reflect"):
        ref = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, pad_mode=pad)
        assert np.abs(dsp.stft(y, n_fft=N_FFT, hop=HOP, pad_mode=pad) - ref).max() < 1e-4 * np.abs(ref).max()
    wss = librosa.filters.window_sumsquare(window="hann", n_frames=50, win_length=N_FFT, n_fft=N_FFT,
                                           hop_length=HOP, dtype=np.float32)
    assert np.array_equal(dsp.window_sumsquare(n_frames=50, n_fft=N_FFT, hop=HOP), wss)
    assert [dsp._next_fast_len(n) for n in (1, 7, 687, 1000, 1025)] == [1, 8, 720, 1000, 1080]


def test_frame_features_tuning_and_tempo(clips):
    for y in clips:
        S = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP)) ** 2
        assert dsp.estimate_tuning(S, sr=SR, n_fft=N_FFT) == librosa.estimate_tuning(S=S, sr=SR, n_fft=N_FFT)
        assert np.abs(dsp.chroma_stft(S, sr=SR, n_fft=N_FFT) - librosa.feature.chroma_stft(S=S, sr=SR)).max() < 1e-5
        assert np.allclose(dsp.rms(y, frame_length=N_FFT, hop=HOP), librosa.feature.rms(y=y), rtol=1e-6, atol=1e-9)
        assert np.array_equal(dsp.zero_crossing_rate(y, frame_length=N_FFT, hop=HOP), librosa.feature.zero_crossing_rate(y))
        mel = librosa.feature.melspectrogram(S=S, sr=SR)
        assert np.allclose(dsp.melspectrogram(S, sr=SR, n_fft=N_FFT, n_mels=128), mel, rtol=1e-5, atol=1e-6 * mel.max())
        db = librosa.power_to_db(mel)
        assert np.abs(dsp.power_to_db(mel) - db).max() < 1e-4
        assert np.abs(dsp.power_to_db(mel, ref=None) - librosa.power_to_db(mel, ref=np.max)).max() < 1e-4
        assert np.abs(dsp.mfcc(db, n_mfcc=20) - librosa.feature.mfcc(S=db, n_mfcc=20)).max() < 1e-3
        onset = librosa.onset.onset_strength(S=db, sr=SR, hop_length=HOP, aggregate=np.median)
        assert np.abs(dsp.onset_strength(db, n_fft=N_FFT, hop=HOP) - onset).max() < 1e-5
        assert dsp.tempo(onset, sr=SR, hop=HOP) == librosa.feature.tempo(onset_envelope=onset, sr=SR, hop_length=HOP)[0]


def test_musicnn_input_without_librosa(clips):
    y16 = mi.resample(clips[1], SR)
    assert np.abs(mi.log_mel(y16) - mi.log_mel_reference(y16)).max() < 1e-3     # float16 rounding decides the last bit
    assert np.mean(np.abs(mi.log_mel(y16) - mi.log_mel_reference(y16))) < 1e-6
