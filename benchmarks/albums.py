"""One genre per album against one per track, on real recordings split into album-like groups.

The recordings of real-dev (``../shared/data/real-dev``) whose genre the packaged model can name (its ten,
and electronic from the taggers; subgenre folders read as electronic) are cut into groups of up to three of
one genre, in file-name order: album-like groups. Each track is predicted on its own; then each group is
pooled as `genrefuse tag` pools an album (``inference.albums``). Reported: tracks whose answer is right and
sure, on their own and after their album's genre (a coherent album's genre for its members, their own for
the rest), and albums whose pooled answer is right and sure.

    python benchmarks/albums.py [DIR] [--size 3] [--json out.json]

A handful of groups: a wide spread, and the groups are of one genre by construction (real albums mix more).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, write_json  # noqa: E402
from real_world import SHARED, folder_genre  # noqa: E402



def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", nargs="?", type=Path, default=SHARED / "real-dev")
    ap.add_argument("--size", type=int, default=3, help="recordings per album-like group (default 3)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if not a.folder.is_dir():
        print(f"no such folder: {a.folder} (see shared/data/README.md)", file=sys.stderr)
        return 2
    from genrefuse import load_model
    from genrefuse.audio import iter_audio_files
    from genrefuse.inference.albums import album_verdict

    model = load_model()
    names = set(model.genres) | set(model.rules.tagger_genres)
    by_genre: dict[str, list[Path]] = {}
    for path in sorted(iter_audio_files([a.folder])):
        genre = folder_genre(path.relative_to(a.folder).parts[0])
        if genre in names:
            by_genre.setdefault(genre, []).append(path)
    rows, tracks_own, tracks_album, albums_right, n_albums = [], 0, 0, 0, 0
    for genre, paths in by_genre.items():
        preds = {p: model.predict(p) for p in paths}
        for s in range(0, len(paths), a.size):
            members = paths[s:s + a.size]
            ps = [preds[p] for p in members]
            own = [p.verdict.sure and p.genre == genre for p in ps]
            if len(members) < 2:
                tracks_own += sum(own)
                tracks_album += sum(own)
                continue
            av = album_verdict(model.rules, ps)
            after = [(av.verdict.sure and av.genre == genre) if i in av.members else own[i] for i in range(len(ps))]
            n_albums += 1
            albums_right += bool(av.verdict.sure and av.genre == genre)
            tracks_own += sum(own)
            tracks_album += sum(after)
            rows.append({"genre": genre, "files": [p.relative_to(a.folder).as_posix() for p in members],
                         "own_answers": [p.answer for p in ps], "album_answer": av.verdict.answer,
                         "album_sure": av.verdict.sure, "coherent": av.coherent, "far": list(av.far)})
    n_tracks = sum(len(v) for v in by_genre.values())
    print(f"{n_tracks} real-dev recordings of genres the packaged model names, in {n_albums} album-like groups "
          f"of up to {a.size}")
    print_table(["", "right and sure", "of"],
                [["tracks, each on its own", tracks_own, n_tracks], ["tracks, with their album's genre", tracks_album,
                                                                      n_tracks],
                 ["albums (the pooled answer)", albums_right, n_albums]])
    for r in rows:
        print(f"  {r['genre']}: {', '.join(r['own_answers'])} -> album {r['album_answer']} "
              f"({'sure' if r['album_sure'] else 'not sure'}{', coherent' if r['coherent'] else ''})")
    if a.json:
        write_json(a.json, {"machine": machine(), "size": a.size, "tracks": n_tracks, "albums": n_albums,
                            "tracks_right_own": tracks_own, "tracks_right_album": tracks_album,
                            "albums_right": albums_right, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
