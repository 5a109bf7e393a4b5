"""``genrefuse similar`` and ``genrefuse radio``: music like a track, from a library."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import DataError
from .common import command, counted, embed_missing


def _seed(value: str) -> tuple[int | None, Path | None]:
    """A library track's id, or an audio file's path."""
    if value.isdigit():
        return int(value), None
    return None, Path(value)


def _line(track, lib, score: float | None = None) -> dict:
    d = lib.describe(track)
    return {**({"similarity": round(score, 4)} if score is not None else {}), "id": d["id"], "answer": d["answer"],
            "genre": d["genre"], "artist": d["artist"], "title": d["title"], "name": d["name"],
            "path": str(lib.audio_path(track))}


@command("similar")
def cmd_similar(a: argparse.Namespace) -> int:
    from ..library.similar import similar_tracks
    from .library_commands import _library

    lib = _library(a)
    track_id, path = _seed(a.seed)
    if path is not None and not path.is_file():
        raise DataError(f"{path}: no such file (give a library track's id or an audio file)")
    embed_missing(lib)
    seed, hits = similar_tracks(lib, track_id=track_id, path=path, n=a.n)
    if a.json:
        for track, score in hits:
            print(json.dumps(_line(track, lib, score), ensure_ascii=False))
        return 0
    label = f"track {seed.id} ({lib.describe(seed)['name']})" if seed is not None else str(path)
    print(f"{counted(len(hits), 'tracks')} like {label}:", file=sys.stderr)
    for track, score in hits:
        d = _line(track, lib, score)
        who = f"{d['artist']} - {d['title']}" if d["artist"] and d["title"] else d["name"]
        print(f"{d['similarity']:.3f}\t{d['id']}\t{d['answer']}\t{who}")
    return 0


@command("radio")
def cmd_radio(a: argparse.Namespace) -> int:
    from ..io import write_text_atomic
    from ..library.playlists import playlist_text
    from ..library.similar import radio
    from .library_commands import _library

    lib = _library(a)
    embed_missing(lib)
    tracks = radio(lib, a.track_id, n=a.n)
    text = playlist_text(tracks, paths=[str(lib.audio_path(t).resolve()) for t in tracks])
    if a.out is None:
        sys.stdout.write(text)
    else:
        write_text_atomic(a.out, text)
        print(f"{counted(len(tracks), 'tracks')} from track {a.track_id} in {a.out}", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    from .common import _positive_int as positive_int, output_option
    from .library_commands import library_options

    s = sub.add_parser("similar", help="the library's tracks most like a track or an audio file")
    s.add_argument("seed", metavar="TRACK_OR_FILE", help="a library track's id, or an audio file (analysed, not added)")
    s.add_argument("--limit", "-n", dest="n", type=positive_int, default=10, metavar="N",
                   help="how many tracks (default 10; -n is its short form)")
    s.add_argument("--json", action="store_true", help="one JSON object per track: similarity, id, answer, genre, "
                   "artist, title, name, path")
    library_options(s)

    s = sub.add_parser("radio", help="a playlist that walks from a seed track to similar ones (M3U)")
    s.add_argument("track_id", type=positive_int, help="the seed: a library track's id")
    s.add_argument("--limit", "-n", dest="n", type=positive_int, default=20, metavar="N",
                   help="at most this many tracks, the seed first (default 20; -n is its short form)")
    output_option(s, "--out", kind="playlist", metavar="FILE.m3u8",
                  help="write the playlist here (default: standard output); never inside the library, never over a "
                       "file that is not a playlist")
    library_options(s)
