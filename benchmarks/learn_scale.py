"""How long `genrefuse learn` takes on a big library once its features are cached.

A real library database and feature cache are filled with N tracks (no audio: rows are the packaged model's
training rows, GTZAN's and real recordings', with a little noise, 4 windows each, tagged with their genres and
2 new ones), and `learn_library(..., from_tags=True)` is timed, as is a second run. Nothing is decoded either
time; the figure is the learning itself (features read back, cross-validation, familiarity, the model
written, every track's suggestion stored).

    python benchmarks/learn_scale.py --tracks 10000 --json out/bench/learn_scale.json
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402

from genrefuse.library.db import Track  # noqa: E402
from genrefuse.library.features import save_features  # noqa: E402
from genrefuse.library.library import Library  # noqa: E402
from genrefuse.library.learning import learn_library  # noqa: E402
from genrefuse.models.bundle import model_folder  # noqa: E402
from genrefuse.models.training_rows import load_training_rows  # noqa: E402
from genrefuse.preprocess.track import ModelInputs  # noqa: E402

WINDOWS = 4
NEW = ("synthwave", "shoegaze")


def fill(lib: Library, n: int, *, seed: int = 0) -> None:
    base = load_training_rows(model_folder(None))
    rng = np.random.default_rng(seed)
    with lib.Session() as s:
        for i in range(n):
            j = int(rng.integers(len(base)))
            genre = base.labels[j] if i % 6 else NEW[i % 12 // 6]
            shift = 3.0 if genre in NEW else 0.0             # the new genres sit apart from GTZAN's
            table = base.table[j] * (1 + 0.05 * rng.standard_normal((WINDOWS, base.table.shape[1]))) + shift
            tags = np.clip(base.tags[j] + 0.02 * rng.standard_normal((WINDOWS, base.tags.shape[1])), 0, 1)
            # the MTT tagger's means (read only by the answer's rules; none in the training rows) and the MSD
            # tagger's penultimate features: all a cached track holds, so that nothing is decoded
            mtt = np.repeat(rng.random((1, 50)) * 0.2, WINDOWS, axis=0)
            deep = None if base.deep is None else np.repeat(base.deep[j][None], WINDOWS, axis=0)
            digest = f"{i:064x}"
            save_features(lib.dir, digest, lib.recipe, ModelInputs(table, tags=tags.astype(np.float32),
                                                                   mtt=mtt.astype(np.float32), deep=deep))
            s.add(Track(content_hash=digest, original_name=f"{i}.flac", stored_path=f"{genre}/{i}.flac", duration=120.0,
                        genre=genre, probabilities={genre: 1.0}, model_id="bench", file_genres=[genre.title()]))
        s.commit()


def arguments(ap) -> None:
    ap.add_argument("--tracks", type=int, default=2000, help="library size (default 2000)")


def measure(a) -> Report:
    with tempfile.TemporaryDirectory() as tmp:
        lib = Library.open(Path(tmp) / "lib")
        t0 = time.perf_counter()
        fill(lib, a.tracks)
        filled = time.perf_counter() - t0
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            r = learn_library(lib, from_tags=True, progress=False)
            times.append(time.perf_counter() - t0)
        card = r.card
    result = {"tracks": a.tracks, "windows_per_track": WINDOWS, "fill_seconds": round(filled, 1),
              "learn_seconds": [round(t, 1) for t in times], "computed": r.computed, "genres": len(card["genres"]),
              "cv_accuracy": card["cv_accuracy"], "new_genre_recall": {g: card["genres"][g]["cv_recall"] for g in NEW}}
    return Report(result, [Table(["tracks", "first learn", "second learn", "features decoded", "genres"],
                                 [[a.tracks, f"{times[0]:.1f} s", f"{times[1]:.1f} s", r.computed,
                                   len(card["genres"])]])])


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
