import numpy as np
import pytest

from genrefuse.audio import WindowPolicy, check_signal, iter_audio_files, iter_windows, load, load_clip
from genrefuse.errors import AudioError, DataError

from conftest import SR, write, shared_path


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg", "mp3"])
def test_formats_decode_to_mono_float32(tmp_path, tone, ext):
    p = write(tmp_path / f"t.{ext}", tone)
    y = load(p)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(y.size - tone.size) < 0.1 * SR          # mp3 adds encoder padding
    # the 440 Hz tone survives every codec
    spec = np.abs(np.fft.rfft(y[: 2 * SR]))
    assert abs(np.argmax(spec) * SR / (2 * SR) - 440) < 2


def test_au_decodes(tmp_path, tone):
    y = load(write(tmp_path / "t.au", tone, format="AU", subtype="PCM_16"))
    assert np.allclose(y, tone, atol=1e-3)


def test_real_gtzan_clip():
    y = load(shared_path("gtzan-clips", "blues", "blues.00000.au"))
    assert y.size == 661794


def test_stereo_is_averaged(tmp_path, tone):
    stereo = np.stack([tone, np.zeros_like(tone)], axis=1)
    y = load(write(tmp_path / "s.wav", stereo, subtype="FLOAT"))
    assert np.allclose(y, tone / 2, atol=1e-6)


def test_other_rate_is_resampled(tmp_path, tone):
    t = np.arange(44100 * 3) / 44100
    y44 = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    y = load(write(tmp_path / "r.wav", y44, sr=44100))
    assert abs(y.size - 3 * SR) <= 1
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) * SR / y.size - 1000) < 2


def test_middle_window_of_long_track(tmp_path):
    # 70 s whose amplitude encodes the second: the middle 30 s are seconds 20..50
    sec = np.repeat(np.arange(70, dtype=np.float32), SR)
    y = (0.01 + sec / 100) * np.sign(np.sin(np.arange(sec.size) * 0.3))
    p = write(tmp_path / "long.wav", y.astype(np.float32), subtype="FLOAT")
    clip = load_clip(p)
    assert clip.size == 30 * SR
    assert np.isclose(np.abs(clip[: SR]).max(), 0.01 + 20 / 100, atol=1e-4)
    assert np.isclose(np.abs(clip[-SR:]).max(), 0.01 + 49 / 100, atol=1e-4)


def sizes(x, **kw):
    return [w.size for w, _ in iter_windows(x, **kw)]


def test_windows_split_consecutively():
    assert sizes(np.ones(75 * SR, np.float32), sr=SR) == [30 * SR, 30 * SR, 15 * SR]
    assert sizes(np.ones(61 * SR, np.float32), sr=SR) == [30 * SR, 30 * SR]  # 1 s tail dropped
    assert sizes(np.ones(5 * SR, np.float32), sr=SR) == [5 * SR]
    assert sizes(np.ones(int(30.1 * SR), np.float32), sr=SR) == [int(30.1 * SR)]   # GTZAN's 30.1 s clips whole


def test_window_policy_bounds_the_windows_of_long_tracks():
    policy = WindowPolicy(max_windows=5)
    spans = policy.spans(3600 * SR, SR)                       # an hour: 120 windows, 5 analysed
    assert len(spans) == 5 and all(length == 30 * SR for _, length in spans)
    assert [start + 15 * SR for start, _ in spans] == [360 * SR, 1080 * SR, 1800 * SR, 2520 * SR, 3240 * SR]
    middle = WindowPolicy(max_windows=1).spans(240 * SR, SR)        # a 4-minute song: its middle 30 s
    assert middle == [(105 * SR, 30 * SR)]
    assert WindowPolicy(max_windows=2).spans(61 * SR, SR) == [(0, 30 * SR), (30 * SR, 30 * SR)]   # not more than 2
    assert WindowPolicy.from_dict(policy.to_dict()) == policy
    assert WindowPolicy.from_dict(None) == WindowPolicy()


def test_windows_of_long_file_are_decoded_one_by_one(tmp_path, tone):
    p = write(tmp_path / "l.flac", np.tile(tone, 15))  # 75 s
    assert sizes(p) == [30 * SR, 30 * SR, 15 * SR]
    first = next(iter_windows(p))[0]
    assert np.allclose(first, load(p, seconds=30), atol=1e-6)


def test_walking_audio_folders(tmp_path, tone):
    for rel in ("b/2.wav", "a/1.flac", "a/z/3.wav", ".hidden/4.wav", "notes.txt"):
        write(tmp_path / rel, tone) if rel.endswith(("wav", "flac")) else (tmp_path / rel).write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p in iter_audio_files([tmp_path])]
    assert found == ["a/1.flac", "a/z/3.wav", "b/2.wav"]
    assert list(iter_audio_files([tmp_path / "missing.wav"])) == [tmp_path / "missing.wav"]   # reported later
    with pytest.raises(DataError, match="no such file or folder"):
        list(iter_audio_files([tmp_path / "missing"], strict=True))


def _err(path, fn=load_clip, **kw) -> str:
    with pytest.raises(AudioError) as e:
        fn(path, **kw)
    msg = str(e.value)
    assert str(path) in msg and "\n" not in msg
    return msg


def test_bad_inputs(tmp_path, tone):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert "empty" in _err(empty)
    text = tmp_path / "song.mp3"
    text.write_text("this is not music\n" * 100)
    assert "not a readable audio file" in _err(text)
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 40)
    assert "audio" in _err(corrupt) or "decode" in _err(corrupt)
    assert "no such file" in _err(tmp_path / "missing.wav")
    silent = write(tmp_path / "silent.wav", np.zeros(5 * SR, np.float32))
    assert "silent" in _err(silent)
    short = write(tmp_path / "short.wav", tone[: SR // 2])
    assert "too short" in _err(short)
    nan = tone.copy()
    nan[100] = np.nan
    assert "NaN" in _err(write(tmp_path / "nan.wav", nan, subtype="FLOAT"))


def test_two_hour_track(tmp_path):
    # two hours at a low rate keeps the file small; it is resampled like any other rate
    sr = 1000
    y = (0.3 * np.sin(np.arange(2 * 3600 * sr) * 0.5)).astype(np.float32)
    p = write(tmp_path / "twohours.wav", y, sr=sr, subtype="PCM_16")
    assert "too long" in _err(p, fn=load, max_seconds=3600)
    clip = load_clip(p)                  # the middle window is read without decoding the rest
    assert clip.size == 30 * SR


def test_check_signal_array_inputs(tone):
    assert check_signal(np.stack([tone, tone])).shape == tone.shape
    with pytest.raises(AudioError, match="1-D"):
        check_signal(np.zeros((2, 2, 2)))


@pytest.mark.parametrize("ext", ["flac", "wav"])
def test_a_cut_off_file_is_analysed_as_far_as_it_goes(tmp_path, ext):
    """Half a file (a broken download) gives the windows its data holds, whatever the format; the header's
    length is not trusted."""
    y = (0.1 * np.random.default_rng(0).standard_normal(90 * SR)).astype(np.float32)
    full = write(tmp_path / f"full.{ext}", y)
    data = full.read_bytes()
    half = tmp_path / f"half.{ext}"
    half.write_bytes(data[: len(data) // 2])
    got = sizes(half)
    assert got[0] == 30 * SR and 40 * SR < sum(got) < 50 * SR


def test_many_channels_are_mixed_block_by_block(tmp_path):
    y = (0.1 * np.random.default_rng(1).standard_normal((5 * SR, 6))).astype(np.float32)
    p = write(tmp_path / "six.flac", y)
    mono = load(p)
    assert mono.shape == (5 * SR,)
    assert np.allclose(mono, y.mean(axis=1), atol=1e-4)      # flac stores 16-bit samples


def test_an_implausible_header_is_refused_before_decoding(tmp_path):
    p = write(tmp_path / "many.wav", np.zeros((3 * SR, 70), np.float32) + 0.1)
    with pytest.raises(AudioError, match="implausible header \\(70 channels at 22050 Hz\\)"):
        list(iter_windows(p))
