"""One genre per album against one per track, on real recordings split into album-like groups.

The recordings of real-dev (``../shared/data/real-dev``) whose genre the packaged model can name (its ten,
and electronic from the taggers; subgenre folders read as electronic) are cut into groups of up to three of
one genre, in file-name order: album-like groups. Each track is predicted on its own; then each group is
pooled as `genrefuse tag` pools an album (``inference.albums``). Reported: tracks whose answer is right, and
right and sure, on their own and after their album's genre (a coherent album's genre for its members, judged on
each member's own evidence for it, as the library and `tag` judge it; their own for the rest), and albums whose
pooled answer is right and sure. Pooling may make a track right; it never makes one surer than it is alone.

    python benchmarks/albums.py [DIR] [--size 3] [--json out.json]

The model is GTZAN's ten genres from GTZAN's rows alone (``build_gtzan_model``, built here in about 20 s): the
packaged model learnt from real-dev's recordings, so its answers on them measure nothing. A handful of groups:
a wide spread, and the groups are of one genre by construction (real albums mix more).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import Report, Table, run  # noqa: E402
from real_world import SHARED, folder_genre  # noqa: E402


def arguments(ap) -> None:
    ap.add_argument("folder", nargs="?", type=Path, default=SHARED / "real-dev")
    ap.add_argument("--size", type=int, default=3, help="recordings per album-like group (default 3)")


def measure(a) -> Report:
    if not a.folder.is_dir():
        raise SystemExit(f"no such folder: {a.folder} (see shared/data/README.md)")
    from genrefuse import load_model
    from genrefuse.audio import iter_audio_files
    from genrefuse.inference.albums import album_verdict, within_album

    import tempfile

    from genrefuse.training.default_model import build_gtzan_model

    built = Path(tempfile.mkdtemp(prefix="albums-")) / "model"
    build_gtzan_model(SHARED, built)            # never heard real-dev (the packaged model learnt from it)
    model = load_model(built)
    names = set(model.genres) | set(model.rules.tagger_genres)
    by_genre: dict[str, list[Path]] = {}
    for path in sorted(iter_audio_files([a.folder])):
        genre = folder_genre(path.relative_to(a.folder).parts[0])
        if genre in names:
            by_genre.setdefault(genre, []).append(path)
    rows, n_albums, albums_right = [], 0, 0
    right = {"own": 0, "album": 0}
    sure = {"own": 0, "album": 0}
    for genre, paths in by_genre.items():
        preds = {p: model.predict(p) for p in paths}
        for s in range(0, len(paths), a.size):
            members = paths[s:s + a.size]
            ps = [preds[p] for p in members]
            own = [p.verdict for p in ps]
            after = list(own)
            if len(members) >= 2:
                av = album_verdict(model.rules, ps)
                after = [within_album(model.rules, av.genre, av.verdict.confidence, p.probabilities, p.familiarity,
                                      p.evidence) if i in av.members else own[i] for i, p in enumerate(ps)]
                n_albums += 1
                albums_right += bool(av.verdict.sure and av.genre == genre)
                rows.append({"genre": genre, "files": [p.relative_to(a.folder).as_posix() for p in members],
                             "own_answers": [p.answer for p in ps], "album_answer": av.verdict.answer,
                             "album_sure": av.verdict.sure, "coherent": av.coherent, "far": list(av.far)})
            for key, verdicts in (("own", own), ("album", after)):
                right[key] += sum(v.answer == genre for v in verdicts)
                sure[key] += sum(v.sure and v.genre == genre for v in verdicts)
    n_tracks = sum(len(v) for v in by_genre.values())
    lines = [f"  {r['genre']}: {', '.join(r['own_answers'])} -> album {r['album_answer']} "
             f"({'sure' if r['album_sure'] else 'not sure'}{', coherent' if r['coherent'] else ''})" for r in rows]
    return Report({"size": a.size, "tracks": n_tracks, "albums": n_albums,
                   "tracks_right_own": right["own"], "tracks_right_album": right["album"],
                   "tracks_sure_own": sure["own"], "tracks_sure_album": sure["album"],
                   "albums_right": albums_right, "rows": rows},
                  [Table(["", "right", "right and sure", "of"],
                         [["tracks, each on its own", right["own"], sure["own"], n_tracks],
                          ["tracks, with their album's genre", right["album"], sure["album"], n_tracks],
                          ["albums (the pooled answer)", "", albums_right, n_albums]],
                         title=f"{n_tracks} real-dev recordings of genres a model of GTZAN's genres alone names, in "
                               f"{n_albums} album-like groups of up to {a.size}")], lines)


if __name__ == "__main__":
    run(measure, doc=__doc__, arguments=arguments)
