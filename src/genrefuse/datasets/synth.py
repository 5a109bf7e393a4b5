"""Synthetic genres: a labelled folder-per-genre dataset rendered from made-up genre descriptions.

Each genre differs the way real ones do (tempo range, rhythm pattern and swing, drum kit, instrument
timbres from additive and FM synthesis, harmony and scale, distortion, echo, dynamics). Every clip
draws its own key, tempo, mix and noise, and sometimes borrows another genre's drums or lead, so the
classes overlap. Rendering is deterministic for a seed: clip ``i`` of genre ``g`` uses the random
stream ``(seed, g, i)``, so any clip can be rendered alone, in any process.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from ..audio import SAMPLE_RATE
from ..parallel import map_items

SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "pentatonic": (0, 2, 4, 7, 9),
}


@dataclass(frozen=True)
class Genre:
    tempo: tuple[float, float]
    swing: tuple[float, float]          # 0.5 = straight; 2/3 = triplet swing
    kick: str                           # 16-step patterns; digits are hit probabilities in tenths
    snare: str
    hat: str
    kit: dict                           # kick pitch/decay, snare tone/noise, hat decay/brightness
    scales: tuple[str, ...]
    progression: tuple[int, ...]        # scale degrees, one per bar
    chord_style: str                    # pad | stab | power | skank | comp | none
    bass_style: str                     # sustain | quarters | walking | offbeat | arp8 | octave16
    lead_style: str                     # arp16 | melody8 | sparse | drone | none
    lead_timbre: dict                   # additive partial slope / odd-only, or FM ratio and index
    chord_timbre: dict
    bass_timbre: dict
    drive: tuple[float, float]          # distortion (tanh drive)
    echo: float                         # echo feedback
    dynamics: float                     # depth of slow loudness changes
    noise: tuple[float, float]          # noise level, relative to the mix's RMS


GENRES: dict[str, Genre] = {
    "ambient": Genre(
        tempo=(60, 90), swing=(0.5, 0.5),
        kick="9000000000000000", snare="0000000000000000", hat="0000100000001000",
        kit=dict(kick_f=(90, 40), kick_decay=0.4, snare_tone=180, snare_noise=0.3, hat_decay=0.08, hat_bright=0.3),
        scales=("lydian", "major", "pentatonic"), progression=(0, 3, 5, 4),
        chord_style="pad", bass_style="sustain", lead_style="drone",
        lead_timbre=dict(kind="additive", slope=2.0, odd=False, attack=0.4),
        chord_timbre=dict(kind="additive", slope=1.6, odd=False, attack=0.9, detune=0.006),
        bass_timbre=dict(kind="additive", slope=2.5, odd=False, attack=0.3),
        drive=(1.0, 1.3), echo=0.55, dynamics=0.5, noise=(0.01, 0.06)),
    "chiptune": Genre(
        tempo=(130, 175), swing=(0.5, 0.55),
        kick="9000000090000000", snare="0000900000009000", hat="9090909090909090",
        kit=dict(kick_f=(160, 60), kick_decay=0.08, snare_tone=300, snare_noise=0.9, hat_decay=0.02, hat_bright=1.0),
        scales=("major", "pentatonic", "mixolydian"), progression=(0, 5, 3, 4),
        chord_style="none", bass_style="octave16", lead_style="arp16",
        lead_timbre=dict(kind="additive", slope=1.0, odd=True, attack=0.002),
        chord_timbre=dict(kind="additive", slope=1.0, odd=True, attack=0.002),
        bass_timbre=dict(kind="additive", slope=1.2, odd=True, attack=0.002),
        drive=(1.0, 1.5), echo=0.0, dynamics=0.1, noise=(0.0, 0.05)),
    "doom": Genre(
        tempo=(55, 95), swing=(0.5, 0.5),
        kick="9090000090900000", snare="0000000090000000", hat="9000900090009000",
        kit=dict(kick_f=(110, 45), kick_decay=0.3, snare_tone=160, snare_noise=0.7, hat_decay=0.35, hat_bright=0.6),
        scales=("phrygian", "minor"), progression=(0, 0, 1, 5),
        chord_style="power", bass_style="sustain", lead_style="sparse",
        lead_timbre=dict(kind="fm", ratio=1.0, index=4.0, attack=0.01),
        chord_timbre=dict(kind="additive", slope=0.7, odd=False, attack=0.01, detune=0.004),
        bass_timbre=dict(kind="additive", slope=1.0, odd=False, attack=0.01),
        drive=(6.0, 14.0), echo=0.1, dynamics=0.15, noise=(0.02, 0.1)),
    "dub": Genre(
        tempo=(66, 92), swing=(0.5, 0.6),
        kick="0000000090000000", snare="0000000090000000", hat="0090009000900090",
        kit=dict(kick_f=(100, 50), kick_decay=0.25, snare_tone=220, snare_noise=0.5, hat_decay=0.05, hat_bright=0.7),
        scales=("minor", "dorian"), progression=(0, 3, 0, 4),
        chord_style="skank", bass_style="offbeat", lead_style="sparse",
        lead_timbre=dict(kind="fm", ratio=2.0, index=1.5, attack=0.01),
        chord_timbre=dict(kind="additive", slope=1.3, odd=False, attack=0.003),
        bass_timbre=dict(kind="additive", slope=3.0, odd=False, attack=0.01),
        drive=(1.0, 2.0), echo=0.5, dynamics=0.2, noise=(0.01, 0.08)),
    "swing": Genre(
        tempo=(110, 190), swing=(0.6, 0.68),
        kick="7000000070000000", snare="0000300000003000", hat="9000909090009090",
        kit=dict(kick_f=(80, 50), kick_decay=0.15, snare_tone=200, snare_noise=0.4, hat_decay=0.25, hat_bright=0.5),
        scales=("dorian", "mixolydian", "major"), progression=(1, 4, 0, 5),
        chord_style="comp", bass_style="walking", lead_style="melody8",
        lead_timbre=dict(kind="fm", ratio=1.0, index=1.2, attack=0.02),
        chord_timbre=dict(kind="additive", slope=1.8, odd=False, attack=0.004),
        bass_timbre=dict(kind="additive", slope=2.2, odd=False, attack=0.01),
        drive=(1.0, 1.2), echo=0.1, dynamics=0.45, noise=(0.01, 0.08)),
    "techno": Genre(
        tempo=(120, 140), swing=(0.5, 0.54),
        kick="9000900090009000", snare="0000900000009000", hat="0090009000900090",
        kit=dict(kick_f=(150, 45), kick_decay=0.2, snare_tone=250, snare_noise=0.8, hat_decay=0.04, hat_bright=0.9),
        scales=("minor", "phrygian", "dorian"), progression=(0, 0, 0, 5),
        chord_style="stab", bass_style="arp8", lead_style="arp16",
        lead_timbre=dict(kind="fm", ratio=3.0, index=2.5, attack=0.003),
        chord_timbre=dict(kind="fm", ratio=2.0, index=2.0, attack=0.003),
        bass_timbre=dict(kind="fm", ratio=1.0, index=3.0, attack=0.003),
        drive=(1.5, 4.0), echo=0.25, dynamics=0.1, noise=(0.0, 0.06)),
}
SYNTH_GENRES: tuple[str, ...] = tuple(sorted(GENRES))
BORROW_PROB = 0.3     # chance that a clip takes its drums or lead from another genre


def _env(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    a = np.minimum(t / max(attack, 1e-4), 1.0)
    return a * np.exp(-t / max(decay, 1e-3))


def _tone(f0: float, dur: float, timbre: dict, rng: np.random.Generator, sr: int, decay: float) -> np.ndarray:
    n = max(int(dur * sr), 16)
    t = np.arange(n) / sr
    if timbre["kind"] == "fm":
        idx = timbre["index"] * np.exp(-t / max(decay, 0.05))   # index decays: brighter attack
        sig = np.sin(2 * np.pi * f0 * t + idx * np.sin(2 * np.pi * f0 * timbre["ratio"] * t))
    else:
        ks = np.arange(1, 13)
        if timbre["odd"]:
            ks = ks[ks % 2 == 1]
        ks = ks[ks * f0 < sr / 2.2]
        amps = ks.astype(float) ** -timbre["slope"]
        detune = timbre.get("detune", 0.0)
        freqs = f0 * ks * (1 + detune * rng.standard_normal(ks.size))
        phases = rng.uniform(0, 2 * np.pi, ks.size)
        sig = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(0) / amps.sum()
    return sig * _env(n, sr, timbre["attack"], decay)


def _kit(kit: dict, rng: np.random.Generator, sr: int) -> dict[str, np.ndarray]:
    j = lambda: rng.uniform(0.85, 1.15)  # noqa: E731  per-clip variation of the kit
    n = int(0.6 * sr)
    t = np.arange(n) / sr
    f_hi, f_lo = kit["kick_f"][0] * j(), kit["kick_f"][1] * j()
    freq = f_lo + (f_hi - f_lo) * np.exp(-t / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / (kit["kick_decay"] * j()))
    noise = rng.standard_normal(n)
    snare = (0.5 * np.sin(2 * np.pi * kit["snare_tone"] * j() * t) * np.exp(-t / 0.05)
             + kit["snare_noise"] * noise * np.exp(-t / 0.12))
    hat_noise = np.diff(rng.standard_normal(n + 1)) if kit["hat_bright"] > 0.5 else rng.standard_normal(n)
    hat = hat_noise * np.exp(-t / (kit["hat_decay"] * j())) * 0.5
    return {"kick": kick, "snare": snare / np.max(np.abs(snare)), "hat": hat}


def _midi_hz(m: float) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def _add(out: np.ndarray, at: int, buf: np.ndarray, gain: float) -> None:
    if at >= out.size:
        return
    end = min(out.size, at + buf.size)
    out[at:end] += gain * buf[: end - at]


def render_clip(genre: str, *, seconds: float = 30.0, seed: int = 0, index: int = 0, sr: int = SAMPLE_RATE) -> np.ndarray:
    """Render one clip of a synthetic genre.

    Returns
    -------
    np.ndarray, shape (round(seconds * sr),), float32, peak below 1
    """
    g_index = SYNTH_GENRES.index(genre)
    rng = np.random.default_rng([seed, g_index, index])
    spec = GENRES[genre]
    other = GENRES[SYNTH_GENRES[rng.integers(len(SYNTH_GENRES))]]
    drums_from = other if rng.random() < BORROW_PROB else spec
    lead_from = other if rng.random() < BORROW_PROB else spec

    tempo = rng.uniform(*spec.tempo)
    swing = rng.uniform(*spec.swing)
    step = 60.0 / tempo / 4                       # a sixteenth note, in seconds
    n = int(round(seconds * sr))
    tail = int(2.5 * sr)
    parts = {k: np.zeros(n + tail) for k in ("drums", "bass", "chords", "lead")}

    def at(k: int) -> int:                        # start sample of sixteenth k, swung
        t = k * step + (2 * swing - 1) * step * (k % 2)
        return int(t * sr)

    # drums
    kit = _kit(drums_from.kit, rng, sr)
    n_steps = int(seconds / step) + 1
    for name, pattern in (("kick", drums_from.kick), ("snare", drums_from.snare), ("hat", drums_from.hat)):
        probs = np.array([int(c) / 9 for c in pattern])
        for k in range(n_steps):
            if rng.random() < probs[k % 16]:
                _add(parts["drums"], at(k), kit[name], rng.uniform(0.6, 1.0))

    # harmony
    scale = SCALES[spec.scales[rng.integers(len(spec.scales))]]
    root = 40 + int(rng.integers(0, 12))           # the key's bass root (E2 .. D#3)

    def degree(d: int, octave: int = 0) -> int:
        return root + 12 * (octave + d // len(scale)) + scale[d % len(scale)]

    bar = 16
    for k0 in range(0, n_steps, bar):
        chord_root = spec.progression[(k0 // bar) % len(spec.progression)]
        chord = [degree(chord_root + i, 1) for i in (0, 2, 4)] + ([degree(chord_root + 6, 1)] if spec.chord_style == "comp" else [])
        ct = spec.chord_timbre
        if spec.chord_style == "pad":
            for m in chord:
                _add(parts["chords"], at(k0), _tone(_midi_hz(m), bar * step * 1.3, ct, rng, sr, 3.0), 0.3)
        elif spec.chord_style == "power":
            for k in range(k0, k0 + bar, 4):
                for m in (chord[0] - 12, chord[0] - 5, chord[0]):
                    _add(parts["chords"], at(k), _tone(_midi_hz(m), 4 * step, ct, rng, sr, 1.0), 0.35)
        elif spec.chord_style in ("stab", "skank", "comp"):
            hits = {"stab": (2, 6, 10, 14), "skank": (4, 12), "comp": tuple(sorted(rng.choice(16, 3, replace=False)))}[spec.chord_style]
            for h in hits:
                for m in chord:
                    _add(parts["chords"], at(k0 + int(h)), _tone(_midi_hz(m), 1.5 * step, ct, rng, sr, 0.15), 0.25)
        # bass
        bt = spec.bass_timbre
        b = degree(chord_root)
        if spec.bass_style == "sustain":
            _add(parts["bass"], at(k0), _tone(_midi_hz(b), bar * step, bt, rng, sr, 2.0), 0.6)
        elif spec.bass_style == "walking":
            for q in range(4):
                m = degree(chord_root + int(rng.choice([0, 1, 2, 4, -1])))
                _add(parts["bass"], at(k0 + 4 * q), _tone(_midi_hz(m), 4 * step, bt, rng, sr, 0.4), 0.6)
        elif spec.bass_style == "offbeat":
            for k in (2, 3, 6, 10, 11, 14):
                _add(parts["bass"], at(k0 + k), _tone(_midi_hz(b), 2 * step, bt, rng, sr, 0.3), 0.7)
        elif spec.bass_style == "arp8":
            for k in range(0, bar, 2):
                m = b + (12 if k % 4 else 0)
                _add(parts["bass"], at(k0 + k), _tone(_midi_hz(m), 2 * step, bt, rng, sr, 0.12), 0.55)
        elif spec.bass_style == "octave16":
            for k in range(bar):
                _add(parts["bass"], at(k0 + k), _tone(_midi_hz(b + 12 * (k % 2)), step, bt, rng, sr, 0.08), 0.4)
        # lead
        lt = lead_from.lead_timbre
        style = lead_from.lead_style
        if style == "arp16":
            for k in range(bar):
                m = degree(chord_root + 2 * (k % 4), 2)
                _add(parts["lead"], at(k0 + k), _tone(_midi_hz(m), step, lt, rng, sr, 0.08), 0.25)
        elif style == "melody8":
            d = chord_root
            for k in range(0, bar, 2):
                if rng.random() < 0.8:
                    d += int(rng.choice([-2, -1, 1, 2, 3]))
                    _add(parts["lead"], at(k0 + k), _tone(_midi_hz(degree(d, 2)), 2 * step, lt, rng, sr, 0.3), 0.3)
        elif style == "sparse":
            for k in range(0, bar, 4):
                if rng.random() < 0.35:
                    m = degree(chord_root + int(rng.integers(0, 7)), 2)
                    _add(parts["lead"], at(k0 + k), _tone(_midi_hz(m), 6 * step, lt, rng, sr, 0.6), 0.3)
        elif style == "drone" and k0 % (2 * bar) == 0:
            _add(parts["lead"], at(k0), _tone(_midi_hz(degree(chord_root + 4, 2)), 2 * bar * step, lt, rng, sr, 4.0), 0.15)

    # mix: random gains per part, then echo, distortion, dynamics, noise
    gains = {"drums": rng.uniform(0.4, 1.0), "bass": rng.uniform(0.4, 1.0),
             "chords": rng.uniform(0.3, 0.9), "lead": rng.uniform(0.3, 0.9)}
    mix = sum(gains[k] * v / (np.max(np.abs(v)) + 1e-9) for k, v in parts.items())
    if spec.echo > 0:
        delay = int(sr * step * (3 if rng.random() < 0.5 else 2))
        fb = spec.echo * rng.uniform(0.7, 1.0)
        wet = mix.copy()
        for r in range(1, 5):
            wet[delay * r :] += (fb ** r) * mix[: wet.size - delay * r]
        mix = wet
    mix = mix[:n]
    mix /= np.max(np.abs(mix)) + 1e-9
    drive = rng.uniform(*spec.drive)
    mix = np.tanh(drive * mix) / np.tanh(drive)
    t = np.arange(n) / sr
    lfo_rate = rng.uniform(0.02, 0.12)
    mix *= 1 - spec.dynamics * 0.5 * (1 + np.sin(2 * np.pi * lfo_rate * t + rng.uniform(0, 2 * np.pi)))
    rms = np.sqrt(np.mean(mix ** 2)) + 1e-9
    mix += rng.uniform(*spec.noise) * rms * 3 * rng.standard_normal(n)
    mix *= rng.uniform(0.3, 0.9) / (np.max(np.abs(mix)) + 1e-9)
    return mix.astype(np.float32)


def clip_name(genre: str, index: int) -> str:
    return f"{genre}.{index:05d}.wav"


def _write_clip(job: tuple[str, int], *, out_dir: Path, seconds: float, seed: int) -> Path:
    genre, index = job
    path = out_dir / genre / clip_name(genre, index)
    y = render_clip(genre, seconds=seconds, seed=seed, index=index)
    tmp = path.with_name(f".{path.name}.tmp")
    sf.write(tmp, y, SAMPLE_RATE, subtype="PCM_16", format="WAV")
    tmp.replace(path)
    return path


def _check_settings(out_dir: Path, *, seconds: float, seed: int) -> None:
    """Clips already on disk are reused only when they were rendered with the same settings."""
    import json

    from ..errors import DataError

    stamp = out_dir / "synth.json"
    settings = {"seconds": seconds, "seed": seed, "sample_rate": SAMPLE_RATE}
    if stamp.exists():
        old = json.loads(stamp.read_text())
        if old != settings:
            raise DataError(f"{out_dir}: holds clips rendered with {old}; choose another folder for {settings}")
    else:
        out_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(json.dumps(settings))


def synthesize(out_dir: str | Path, *, per_genre: int, seconds: float = 30.0, seed: int = 0,
               genres: tuple[str, ...] = SYNTH_GENRES, jobs: int | None = None, progress: bool = True) -> list[Path]:
    """Render ``per_genre`` clips of each genre into ``out_dir/<genre>/<genre>.NNNNN.wav``.

    Clips already present are kept (same seed, same audio), so an interrupted run resumes.
    """
    unknown = [g for g in genres if g not in GENRES]
    if unknown:
        from ..errors import DataError

        raise DataError(f"unknown synthetic genre {unknown[0]!r}; choose from {', '.join(SYNTH_GENRES)}")
    out_dir = Path(out_dir)
    _check_settings(out_dir, seconds=seconds, seed=seed)
    for g in genres:
        (out_dir / g).mkdir(parents=True, exist_ok=True)
    jobs_todo = [(g, i) for g in genres for i in range(per_genre) if not (out_dir / g / clip_name(g, i)).exists()]
    work = functools.partial(_write_clip, out_dir=out_dir, seconds=seconds, seed=seed)
    for o in map_items(work, jobs_todo, jobs=jobs, desc="synth", unit="clip", progress=progress):
        if not o.ok:
            raise RuntimeError(o.error)
    return [out_dir / g / clip_name(g, i) for g in genres for i in range(per_genre)]
