"""How long `genrefuse learn` takes on a big library once its features are cached.

A real library database and feature cache are filled with N tracks (no audio: rows are GTZAN's 443
training rows with a little noise, 4 windows each, tagged with 12 genres, 10 of them GTZAN's names and
2 new), and `learn_library(..., from_tags=True)` is timed, as is a second run. Nothing is decoded either
time; the figure is the learning itself (features read back, cross-validation, familiarity, the model
written, every track's suggestion stored).

    python benchmarks/learn_scale.py --tracks 10000 --json out/bench/learn_scale.json
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import print_table, write_json  # noqa: E402

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
            digest = f"{i:064x}"
            save_features(lib.dir, digest, lib.recipe, ModelInputs(table, tags=tags.astype(np.float32)))
            s.add(Track(content_hash=digest, original_name=f"{i}.flac", stored_path=f"{genre}/{i}.flac", duration=120.0,
                        genre=genre, probabilities={genre: 1.0}, model_id="bench", file_genres=[genre.title()]))
        s.commit()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tracks", type=int, default=2000, help="library size (default 2000)")
    ap.add_argument("--json", type=Path, help="write the results here too")
    a = ap.parse_args(argv)
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
    print_table(["tracks", "first learn", "second learn", "features decoded", "genres"],
                [[a.tracks, f"{times[0]:.1f} s", f"{times[1]:.1f} s", r.computed, len(card["genres"])]])
    write_json(a.json, result)


if __name__ == "__main__":
    main()
