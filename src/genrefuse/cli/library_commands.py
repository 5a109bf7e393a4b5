"""Commands on the library, its listeners and the service: ingest, library, users, feedback, recommend,
tag and serve. Only ``ingest`` and ``serve`` create a library; the others refuse a folder that holds
none (a typo), creating nothing."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GenrefuseError
from ..display import confidence_text
from .common import FAMILIARITY_HELP, JOBS_HELP, MODEL_HELP, counted, _at_least, _fraction, _positive_int, _report_failures, command, embed_missing, output_option, sureness

FEW_EXAMPLES = 5     # a learned genre with fewer tracks than this gets a warning: its CV recall means little


def _aliases(a: argparse.Namespace) -> dict[str, str] | None:
    from ..genres import read_genre_map

    return read_genre_map(a.genre_map) if getattr(a, "genre_map", None) else None


def _library(a: argparse.Namespace):
    """An existing library (these commands never create one)."""
    from ..library.library import Library

    return Library.open(a.library, a.model, db_url=a.db, aliases=_aliases(a), create=False)


def _ingest_status(line) -> str:
    if line.created:
        return f"added (id {line.track['id']})"
    if line.same_recording:
        return f"the same recording as track {line.track['id']} (other tags or container): not added again"
    return f"already in the library (id {line.track['id']})"


@command("ingest")
def cmd_ingest(a: argparse.Namespace) -> int:
    import json

    from ..inference.handle import ModelHandle
    from ..library.ingest import ingest_many
    from ..library.library import library_model_dir

    rules = ModelHandle(library_model_dir(a.library, a.model)).rules

    def each(line) -> None:             # as each file finishes, not at the end
        if line.error is not None:
            if a.json:
                print(json.dumps({"path": line.path, "error": line.error}), flush=True)
            return
        if a.json:
            print(json.dumps({"path": line.path, "created": line.created, "same_recording": line.same_recording,
                              "track": line.track}), flush=True)
        else:
            print(f"{line.path}\t{line.track['genre']}\t{sureness(line.track, rules)}\t{_ingest_status(line)}", flush=True)

    r = ingest_many(a.inputs, library_dir=a.library, model_dir=a.model, db_url=a.db, jobs=a.jobs,
                    write_tags=a.write_tags, mode=a.mode, albums=not a.no_album, each=each)
    _report_albums(r.albums)
    if r.library_removed:
        print(f"no file could be read, so no library was created at {a.library}", file=sys.stderr)
    where = {"copy": "copied into", "move": "moved into", "link": "linked into", "in-place": "indexed where they are for"}
    print(f"{counted(r.added, 'tracks')} added ({where[a.mode]} {a.library}), {r.existing} already in the library",
          file=sys.stderr)
    if r.tracks:
        from ..library.review import review_queue

        lib = _library(a)
        new = {t["id"]: p for p, t, created in r.tracks if created}
        # judged now, after their albums were pooled: the same rule as `library review` and the page
        look = [(new[t.id], lib.describe(t)) for t in lib.tracks(needing_a_look=True) if t.id in new]
        if look:
            verb = "needs" if len(look) == 1 else "need"
            print(f"{counted(len(look), 'new tracks')} {verb} a person (unknown, unsure or far from its album's genre), "
                  "filed under the closest genre for now and flagged:", file=sys.stderr)
            for p, t in look:
                print(f"  {t['id']}\t{t['genre']}\t{sureness(t, rules)}\t{p}", file=sys.stderr)
        queue = len(review_queue(lib))
        if queue:
            print(f"the library's review queue holds {counted(queue, 'tracks')} in all (also older ones, and files whose "
                  f"own genre tag the model contradicts): `genrefuse library review --library {a.library}`",
                  file=sys.stderr)
    _report_failures(r.failures, "files")
    if r.interrupted:
        return _interrupted(r.not_done, "ingest")
    return 1 if r.failures else 0


def _report_albums(filed) -> None:
    """The albums a batch filed by their genre, and the tracks far from theirs (on stderr)."""
    if filed is None:
        return
    for line in filed.albums:
        print(f"album {line}", file=sys.stderr)
    if filed.refiled:
        print(f"{counted(filed.refiled, 'tracks')} refiled under their album's genre (or back under their own)",
              file=sys.stderr)
    if filed.far:
        print(f"{counted(len(filed.far), 'tracks')} far from their album's genre kept their own, flagged for a person:",
              file=sys.stderr)
        for line in filed.far:
            print(f"  {line}", file=sys.stderr)
    for line in filed.failures:
        print(f"album filing: {line}", file=sys.stderr)


def _interrupted(not_done: list[str], verb: str) -> int:
    """After Ctrl-C: what was not done and how to finish; exit status 130 (128 + SIGINT)."""
    print(f"interrupted: {counted(len(not_done), 'files')} not done"
          + (":" if not_done else ""), file=sys.stderr)
    for p in not_done[:20]:
        print(f"  {p}", file=sys.stderr)
    if len(not_done) > 20:
        print(f"  ... and {len(not_done) - 20} more", file=sys.stderr)
    print(f"run the same `genrefuse {verb}` again to do the rest (what is done is skipped)", file=sys.stderr)
    return 130


@command("library")
def cmd_library(a: argparse.Namespace) -> int:
    return LIBRARY_ACTIONS[a.library_command](_library(a), a)


def _list(lib, a: argparse.Namespace) -> int:
    genre = lib.vocabulary.resolve(a.genre) if a.genre else None
    rows = lib.tracks(genre=genre, needing_a_look=a.unsure)
    for t in rows:
        label = sureness(lib.describe(t), lib.handle.rules)
        print(f"{t.id}\t{t.genre}\t{label}\t{t.stored_path}", flush=True)
    print(counted(len(rows), "unsure or unknown tracks" if a.unsure else "tracks") + (f" of {genre}" if genre else "")
          + (f" (below {lib.min_confidence:.2f} or unfamiliar; confirm or correct with `genrefuse library "
             f"relabel ID GENRE --library {a.library}`)" if a.unsure and rows else ""), file=sys.stderr)
    return 0


def _relabel(lib, a: argparse.Namespace) -> int:
    before = set(lib.genres)
    t = lib.relabel(a.track_id, a.genre, new=a.new)
    added = ""
    if a.new:                           # a name that means (or would share the folder of) a known genre is that genre
        added = f" ({a.genre!r} is the library's genre {t.genre}: no new genre)" if t.genre in before else \
            " (a new genre of this library)"
    print(f"track {t.id} is now {t.genre}{added} (confirmed): {t.stored_path}")
    return 0


def _review(lib, a: argparse.Namespace) -> int:
    import json

    from ..library.review import review_queue

    items = review_queue(lib, limit=a.limit)
    for it in items:
        if a.json:
            print(json.dumps(it.to_json()))
            continue
        tag = f" (tagged {', '.join(it.tagged)})" if it.tagged else ""
        c = confidence_text(it.confidence, lib.handle.rules.threshold(it.suggested))
        print(f"{it.id}\t{it.reason}\t{it.genre}{tag} -> {it.suggested} {c}\t{it.file}")
    print(f"{counted(len(items), 'tracks')} {'needs' if len(items) == 1 else 'need'} a person"
          + ("" if items else ": none") + "; confirm or correct with "
          f"`genrefuse library relabel ID GENRE --library {a.library}`", file=sys.stderr)
    return 0


def _remove(lib, a: argparse.Namespace) -> int:
    t = lib.remove(a.track_id)
    print(f"track {t.id} removed ({t.stored_path}" + (", the file left where it is)" if t.in_place else ")"))
    return 0


def _check(lib, a: argparse.Namespace) -> int:
    from ..library.check import check_library

    report = check_library(lib, hashes=not a.quick, progress=True, repair=a.repair)
    for line in report.repaired:
        print(f"repaired: {line}")
    for line in report.problems:
        print(line)
    print(report.summary(), file=sys.stderr)
    return 1 if report.problems else 0


def _backup(lib, a: argparse.Namespace) -> int:
    from ..library.backup import backup_database

    out = backup_database(lib, a.out)
    print(f"backed up {lib.engine.url.database} to {out}")
    return 0


def _playlists(lib, a: argparse.Namespace) -> int:
    written = lib.rewrite_playlists()
    for p in written:
        print(p)
    print(f"{len(written) - 1} playlists in {lib.dir / 'playlists'}", file=sys.stderr)
    return 0


def _scan(lib, a: argparse.Namespace) -> int:
    from ..library.scan import scan_library

    r = scan_library(lib, folders=a.folders or None, forget=a.forget, add_new=not a.no_add, force=a.force, jobs=a.jobs,
                     each=lambda line: print(f"{line.path}\t{line.error}" if line.error else
                                             f"{line.path}\t{line.track['genre']}\t{_ingest_status(line)}", flush=True))
    for tid, old, new in r.moved:
        print(f"track {tid} moved: {old} -> {new}")
    for tid, old in r.gone:
        print(f"track {tid} gone: {old}" + (" (its row removed)" if a.forget else ""))
    for tid in r.retagged:
        print(f"track {tid}: its album tags changed on disk; its album is judged again")
    if r.albums is not None:
        _report_albums(r.albums)
    if r.backup is not None:
        print(f"the database before forgetting is kept in {r.backup}", file=sys.stderr)
    added = r.added.added if r.added else 0
    print(f"{counted(r.checked, 'tracks')} indexed in place checked: {len(r.moved)} moved, {len(r.gone)} gone"
          f"{' and forgotten' if a.forget and r.gone else ''}; {counted(added, 'new tracks')} added"
          + ("" if a.forget or not r.gone else "; `--forget` removes the rows of the gone ones"), file=sys.stderr)
    if r.added is not None:
        _report_albums(r.added.albums)
        _report_failures(r.added.failures, "files")
        if r.added.interrupted:
            return _interrupted(r.added.not_done, "library scan")
    embed_missing(lib, required=False)            # similar tracks: tracks stored before embeddings, once
    return 1 if r.gone and not a.forget or (r.added and r.added.failures) else 0


LIBRARY_ACTIONS = {"list": _list, "scan": _scan, "relabel": _relabel, "review": _review, "remove": _remove,
                   "check": _check, "backup": _backup, "playlists": _playlists}


@command("learn")
def cmd_learn(a: argparse.Namespace) -> int:
    from ..library.library import Library
    from ..library.learning import learn_library

    lib = Library.open(a.library, a.model, db_url=a.db, aliases=_aliases(a), create=False)
    r = learn_library(lib, from_tags=a.from_tags, base=a.base, min_examples=a.min_examples, seed=a.seed)
    card = r.card
    left = f"; {counted(r.left_out, 'more tracks')} left out, their genres too rare" if r.left_out else ""
    print(f"learned {len(card['genres'])} genres from {r.labelled} library tracks ({r.confirmed} confirmed, "
          f"{r.from_tags} from their tags{left}){' on top of the packaged model' if a.base == 'default' else ''} -> "
          f"{r.model_dir}")
    print(f"{'genre':<24}{'examples':>9}{'CV recall':>11}")
    for g, m in card["genres"].items():
        few = "  few examples: a rough estimate" if m["examples"] < FEW_EXAMPLES else ""
        print(f"{g:<24}{m['examples']:>9}{m['cv_recall']:>11.2f}{few}")
    for g, m in card["left_out"].items():
        print(f"{g:<24}{m['examples']:>9}  left out: {m['why']}")
    for g, why in card.get("kept", {}).items():
        if g not in card["left_out"]:
            print(f"{g:<24}{'-':>9}  kept: {why}")
    scarce = [g for g, m in card["genres"].items() if m["examples"] < FEW_EXAMPLES]
    if scarce:
        print(f"{', '.join(scarce)}: fewer than {FEW_EXAMPLES} examples each, so the model knows them poorly and their "
              f"recall is a rough estimate; confirm more of their tracks (`genrefuse library relabel ID GENRE --library "
              f"{a.library}`)", file=sys.stderr)
    print(f"cross-validated accuracy {card['cv_accuracy']:.3f} over {card['tracks']} tracks ({card['folds']} folds; an "
          f"estimate), unsure below {card['min_confidence']:.2f}; features computed for {r.computed} tracks, the rest "
          f"from the cache", file=sys.stderr)
    print(f"the library now uses it (ingest, serve; `genrefuse predict --model {a.library} FILE`); "
          f"`genrefuse library review --library {a.library}` lists the tracks that need a person", file=sys.stderr)
    embed_missing(lib, required=False)            # similar tracks: tracks stored before embeddings, once
    _report_failures(r.failures, "tracks")
    return 1 if r.failures else 0


@command("users")
def cmd_users(a: argparse.Namespace) -> int:
    from ..library.users import create_user, list_users, remove_user, set_admin

    lib = _library(a)
    with lib.Session() as s:
        if a.users_command == "add":
            user, token = create_user(s, a.name, a.likes.split(","), lib.vocabulary, admin=a.admin)
            role = " as an admin (may correct and remove any track)" if user.is_admin else ""
            print(f"user {user.name} (id {user.id}) created{role}; API token (shown once): {token}")
        elif a.users_command == "admin":
            user = set_admin(s, a.name, admin=not a.revoke)
            print(f"user {user.name} (id {user.id}) is " + ("now an admin: may correct and remove any track (on the "
                  "page: reload it)" if user.is_admin else "a plain listener again: may change only the tracks they "
                  "added"))
        elif a.users_command == "list":
            users = list_users(s)
            for u in users:
                print(f"{u['id']}\t{u['name']}\tlikes {u['likes']}, skips {u['skips']}, added {u['added']}\t"
                      f"top genres: {', '.join(u['top_genres']) or '-'}{chr(9) + 'admin' if u['admin'] else ''}")
            if not users:
                print("no listeners yet (genrefuse users add NAME --likes GENRES)", file=sys.stderr)
        else:
            remove_user(s, a.name)
            print(f"user {a.name} removed (the tracks they added stay)")
    return 0


@command("feedback")
def cmd_feedback(a: argparse.Namespace) -> int:
    from ..library.recommend import give_feedback
    from ..library.users import user_by_name

    lib = _library(a)
    with lib.Session() as s:
        weights = give_feedback(s, user_by_name(s, a.user), a.track_id, a.action)
    top = ", ".join(f"{g} {w:.2f}" for g, w in sorted(weights.items(), key=lambda kv: -kv[1])[:3] if w > 0)
    print(f"{a.user} {a.action}s track {a.track_id}; top genres now: {top or '-'}")
    return 0


@command("recommend")
def cmd_recommend(a: argparse.Namespace) -> int:
    from ..library.recommend import load_collaborative, recommend, refit_collaborative
    from ..library.similar import SimilarIndex
    from ..library.users import user_by_name

    lib = _library(a)
    with lib.Session() as s:
        user = user_by_name(s, a.user)
        if a.refit:
            cf, message = refit_collaborative(s, lib.dir)
            print(message, file=sys.stderr)
        else:
            cf = load_collaborative(lib.dir)
        recs = recommend(s, user, limit=a.limit, cf=cf, describe=lib.describe, audio=SimilarIndex())
    if not recs:
        print(f"nothing to recommend to {a.user} yet")
    for r in recs:
        why = [f"because: {', '.join(b['genre'] for b in r['because'])}"] if r["because"] else []
        if r["liked_with"]:
            why.append(f"listeners who liked {r['liked_with']['name']} liked this")
        if r["sounds_like"]:
            why.append(f"sounds like {r['sounds_like']['name']}, which you liked")
        print(f"{r['score']:.3f}\t{r['track']['id']}\t{r['track']['genre']}\t{r['track']['name']}\t({'; '.join(why)})")
    return 0


@command("tag")
def cmd_tag(a: argparse.Namespace) -> int:
    from .. import load_model
    from ..inference.tag import FAILED, tag_files

    model = load_model(a.model, min_confidence=a.min_confidence, min_familiarity=a.min_familiarity)
    counts: dict[str, int] = {}
    failures = []
    for o in tag_files(a.inputs, model, dry_run=a.dry_run, force=a.force, top=a.top, separator=a.separator,
                       follow_links=a.follow_links, styles=a.styles, moods=a.moods, album=not a.no_album,
                       include_unsure=a.include_unsure):
        counts[o.action] = counts.get(o.action, 0) + 1
        if o.action == FAILED:
            failures.append(o.detail)
            continue
        print(f"{o.path}\t{o.action}\t{o.old or '(no genre)'} -> {o.value or ''}\t{o.detail}", flush=True)
    if not counts:
        raise GenrefuseError(f"no audio files in {', '.join(map(str, a.inputs))}")
    print(", ".join(f"{n} {k}" for k, n in counts.items()) + (" (dry run: no file changed)" if a.dry_run else ""),
          file=sys.stderr)
    _report_failures(failures, "files")
    return 1 if failures else 0


@command("serve")
def cmd_serve(a: argparse.Namespace) -> int:
    from ..service.app import serve
    from ..service.settings import DEFAULTS, ServeSettings

    settings = ServeSettings(max_upload_mb=a.max_upload_mb, max_analyses=a.max_analyses,
                             body_idle_seconds=a.body_timeout, refit_minutes=a.refit_minutes, signup=a.signup,
                             signups_per_hour=a.signups_per_hour, header_timeout_seconds=a.header_timeout,
                             max_connections=a.max_connections,
                             allowed_hosts=tuple(a.allowed_host or DEFAULTS.allowed_hosts),
                             allowed_origins=tuple(a.allowed_origin or ()),
                             forwarded_allow_ips=tuple(a.forwarded_allow_ips or ()))
    serve(model_dir=a.model, library_dir=a.library, db_url=a.db, host=a.host, port=a.port, aliases=_aliases(a),
          write_tags=a.write_tags, settings=settings)
    return 0


def library_options(s: argparse.ArgumentParser) -> None:
    """The options every library command takes: --library, --db, --model, --genre-map."""
    s.add_argument("--library", type=Path, required=True,
                   help="library folder (audio filed as <genre>/<artist - title> [<hash8>].<ext>)")
    s.add_argument("--db", help="database URL (default: sqlite:///LIBRARY/library.sqlite)")
    s.add_argument("--model", help=MODEL_HELP + "; default: the library's own model once `genrefuse learn` "
                   "fitted one (LIBRARY/model), else the packaged one")
    s.add_argument("--genre-map", type=Path, metavar="FILE",
                   help="extra genre names: lines 'alias = genre' (or a JSON object); 'Hip-Hop', 'hip hop' "
                        "and 'rap' already mean hiphop")


def add_parsers(sub) -> None:
    tags_help = "also write the genre into each stored file's tags (mp3: ID3v2.4 TCON; ogg, flac: GENRE)"
    s = sub.add_parser("ingest", help="classify files or folders and file them in the library by genre")
    s.add_argument("inputs", nargs="+", type=Path, help="audio files or folders")
    library_options(s)
    s.add_argument("--write-tags", action="store_true", help=tags_help + "; with --in-place the user's own files")
    s.add_argument("--jobs", type=int, help=JOBS_HELP)
    s.add_argument("--json", action="store_true", help="one JSON object per file on stdout, as each finishes")
    s.add_argument("--no-album", action="store_true", help="file each track by itself: by default, after the batch, "
                   "the tracks of an album (the same album and album artist tags) whose genres mostly agree are "
                   "filed under the album's genre, pooled from their probabilities, except tracks far from it "
                   "(listed for a person)")
    how = s.add_mutually_exclusive_group()
    how.add_argument("--copy", dest="mode", action="store_const", const="copy",
                     help="copy each file into the library (the default; your files stay as they are)")
    how.add_argument("--move", dest="mode", action="store_const", const="move",
                     help="move each file into the library (removed from where it was once its track is stored)")
    how.add_argument("--link", dest="mode", action="store_const", const="link",
                     help="hard-link each file into the library (no second copy on disk; a copy where the library "
                          "is on another file system); tags are never written through the link")
    how.add_argument("--in-place", dest="mode", action="store_const", const="in-place",
                     help="index the files where they are: the library holds rows, playlists and its model, and "
                          "never moves, removes or writes your files (unless --write-tags); "
                          "`genrefuse library scan` notices files moved or gone")
    s.set_defaults(mode="copy")

    lib = sub.add_parser("library", help="list, correct and export the library").add_subparsers(
        dest="library_command", required=True, metavar="ACTION")
    s = lib.add_parser("list", help="the tracks: id, genre, confidence (or 'confirmed') and file")
    s.add_argument("--genre", help="only this genre (any name the model knows)")
    s.add_argument("--unsure", action="store_true", help="only the tracks that need checking: unsure (below the "
                   "model's threshold) or unknown, and not confirmed by a person")
    library_options(s)
    s = lib.add_parser("scan", help="look again at the folders indexed with `ingest --in-place`: follow files that "
                       "moved, report those gone, add new ones; exit status 1 when a file is gone")
    s.add_argument("folders", nargs="*", type=Path, metavar="FOLDER",
                   help="folders to look through (default: every folder ingested in place before)")
    s.add_argument("--forget", action="store_true", help="remove the rows of tracks whose file is gone (after a "
                   "backup of the database in LIBRARY/backups); refused when a folder holds no audio file at all or "
                   "more than half the tracks would go")
    s.add_argument("--force", action="store_true", help="with --forget: forget even then")
    s.add_argument("--no-add", action="store_true", help="do not ingest files no track names yet")
    s.add_argument("--jobs", type=int, help=JOBS_HELP)
    library_options(s)
    s = lib.add_parser("relabel", help="correct a track's genre: the file moves, the label counts as confirmed")
    s.add_argument("track_id", type=_positive_int, help="the track's id (see `library list`)")
    s.add_argument("genre", help="the right genre: any name the library knows (its model's genres, the ones added "
                   "before, their aliases), or a new one with --new")
    s.add_argument("--new", action="store_true", help="GENRE is a new genre of this library (without it a name the "
                   "library does not know is refused, with the closest known names suggested)")
    library_options(s)
    s = lib.add_parser("review", help="every track flagged for a person, most useful first: likely mis-tagged files, "
                       "files whose tag the model disputes, unknown tracks, tracks far from their album's genre, tracks "
                       "the newest model would file elsewhere, unsure ones")
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    s.add_argument("--limit", type=_positive_int, metavar="N", help="at most N tracks")
    library_options(s)
    s = lib.add_parser("remove", help="remove a track: its row, its feedback and its file")
    s.add_argument("track_id", type=_positive_int, help="the track's id (see `library list`)")
    library_options(s)
    s = lib.add_parser("check", help="check the database and that every row has its file, every file its row "
                                     "and every file the content its row records; exit status 1 on a problem")
    s.add_argument("--quick", action="store_true", help="skip re-hashing the stored files")
    s.add_argument("--repair", action="store_true", help="mend what an interrupted change left: remove a second name "
                   "of a stored file (a refile stopped midway), rewrite playlists that name missing files, remove "
                   "files an interrupted upload left in .incoming")
    library_options(s)
    s = lib.add_parser("backup", help="copy the SQLite database while it is in use (SQLite's online backup)")
    output_option(s, "--out", kind="sqlite", metavar="FILE",
                  help="the copy, outside the library (default: LIBRARY/backups/library-<UTC time>.sqlite)")
    library_options(s)
    s = lib.add_parser("playlists", help="rewrite every genre's M3U8 playlist in LIBRARY/playlists (and labels.csv, "
                                         "the confirmed genres `genrefuse train LIBRARY` learns from)")
    library_options(s)

    s = sub.add_parser("learn", help="fit the library's own model from its confirmed genres and (--from-tags) its "
                       "files' genre tags; the library then uses it")
    s.add_argument("library", type=Path, help="the library folder")
    s.add_argument("--from-tags", action="store_true", help="also learn from the genre tags the files came with "
                   "(several genres in one tag are split on ; , / |; a file tagged with several counts for each)")
    s.add_argument("--base", choices=("default", "none"), default="default",
                   help="default: learn on top of the packaged model's training rows (GTZAN's 443 training tracks and "
                        "the real recordings it learnt from), so its genres stay known (default); none: only the "
                        "library's own labels")
    s.add_argument("--min-examples", type=_at_least(3), default=3, metavar="N",
                   help="tracks a genre needs to be learned (default and least 3: with fewer, cross-validation cannot "
                        "test it); genres with fewer are left out, named on the model card; under "
                        f"{FEW_EXAMPLES} a genre is learned with a warning")
    s.add_argument("--seed", type=int, default=0, help="seed of the cross-validation folds (default 0)")
    s.add_argument("--db", help="database URL (default: sqlite:///LIBRARY/library.sqlite)")
    s.add_argument("--model", help="the model whose features the library caches (default: the library's own, "
                   "else the packaged one)")
    s.add_argument("--genre-map", type=Path, metavar="FILE", help="extra genre names: lines 'alias = genre'")

    users = sub.add_parser("users", help="manage the library's listeners").add_subparsers(
        dest="users_command", required=True, metavar="ACTION")
    s = users.add_parser("add", help="add a listener; prints the API token once")
    s.add_argument("name", help="the listener's name (unique)")
    s.add_argument("--likes", default="", help="comma-separated genres the listener likes (default: none yet; "
                   "likes and skips teach the rest)")
    s.add_argument("--admin", action="store_true",
                   help="may correct and remove any track (`users admin NAME` makes an existing listener one)")
    library_options(s)
    s = users.add_parser("admin", help="make a listener (one who signed up on the page, say) an admin, who may "
                         "correct and remove any track")
    s.add_argument("name", help="the listener's name")
    s.add_argument("--revoke", action="store_true", help="make them a plain listener again")
    library_options(s)
    s = users.add_parser("list", help="the listeners, their feedback and favourite genres")
    library_options(s)
    s = users.add_parser("remove", help="remove a listener and their feedback")
    s.add_argument("name", help="the listener's name")
    library_options(s)

    s = sub.add_parser("feedback", help="record that a listener likes or skips a track")
    s.add_argument("user", help="the listener's name")
    s.add_argument("track_id", type=_positive_int, help="the track's id")
    s.add_argument("action", choices=("like", "skip"), help="like or skip")
    library_options(s)

    s = sub.add_parser("recommend", help="tracks to recommend to a listener")
    s.add_argument("user", help="the listener's name")
    s.add_argument("--limit", type=_positive_int, default=10, help="at most this many tracks (default 10)")
    s.add_argument("--refit", action="store_true",
                   help="first refit the collaborative model on every listener's likes (serve does it every "
                        "10 minutes; with too little feedback recommendations use genre alone)")
    library_options(s)

    s = sub.add_parser("tag", help="write the predicted genre into audio files' own tags, in place")
    s.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_FOLDER", help="mp3, ogg, flac and wav files or "
                   "folders")
    s.add_argument("--model", default="default", help=MODEL_HELP)
    s.add_argument("--dry-run", action="store_true", help="say what would be written; change no file")
    s.add_argument("--min-confidence", type=_fraction, metavar="X",
                   help="leave files whose answer is less confident than X (default: the model's threshold)")
    s.add_argument("--min-familiarity", type=_fraction, metavar="X", help=FAMILIARITY_HELP + "; unknown tracks are "
                   "left untagged")
    s.add_argument("--force", action="store_true", help="replace a genre tag a file already has (by default it is "
                   "kept, and reported)")
    s.add_argument("--include-unsure", action="store_true", help="also write unsure answers (by default only sure ones "
                   "are written; unknown tracks never are)")
    s.add_argument("--keep-existing", action="store_true", help="the default now (files that have a genre tag keep "
                   "it); accepted for older scripts")
    s.add_argument("--top", type=_positive_int, default=1, metavar="K", help="write the K most probable genres (default 1)")
    s.add_argument("--separator", default="; ", help="between several genres (default '; ')")
    s.add_argument("--styles", type=int, default=0, metavar="N", help="also write up to N of the musicnn tagger's "
                   "styles (electronic, house, punk, ... scored 0.2 or more) after the genres (default 0)")
    s.add_argument("--no-album", action="store_true", help="tag each track by itself: by default the tracks of an "
                   "album (the same album and album artist tags) whose genres mostly agree get the album's genre, "
                   "pooled from their probabilities, except tracks far from it")
    s.add_argument("--moods", action="store_true", help="also write the tagger's moods (happy, sad, mellow, chill, "
                   "party, ... where its score ranks in the top 10%% of GTZAN's tracks; mp3: TMOO, ogg and flac: MOOD) and the tempo (TBPM, BPM), whatever "
                   "becomes of the genre")
    s.add_argument("--follow-links", action="store_true",
                   help="also tag files that links in the named folders lead to outside them (default: leave them)")

    from ..service.settings import DEFAULTS as D

    s = sub.add_parser("serve", help="the HTTP API and web page (FastAPI + uvicorn; docs at /docs)")
    library_options(s)
    s.add_argument("--write-tags", action="store_true", help=tags_help)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--max-upload-mb", type=float, default=D.max_upload_mb,
                   help=f"upload size limit, counted as the body arrives (default {D.max_upload_mb:g} MB)")
    s.add_argument("--max-analyses", type=_positive_int, default=D.max_analyses,
                   help=f"uploads classified at once; the rest wait (default {D.max_analyses}: about 0.5 GB each at worst)")
    s.add_argument("--body-timeout", type=float, default=D.body_idle_seconds, metavar="SECONDS",
                   help=f"a request body that stalls this long gets 408 (default {D.body_idle_seconds:g})")
    s.add_argument("--refit-minutes", type=float, default=D.refit_minutes, metavar="M",
                   help=f"refit the collaborative model every M minutes when feedback changed (default "
                        f"{D.refit_minutes:g}; 0: never)")
    s.add_argument("--signup", action=argparse.BooleanOptionalAction, default=D.signup,
                   help="let visitors of the page create listeners, who may like, skip and upload (default: open "
                        "on a loopback --host, closed on any other); --no-signup: only `genrefuse users add` can, "
                        "and the page signs in with a pasted token. Only the first sign-up of a brand-new library "
                        "(no listener, no track) on a loopback address is an admin")
    s.add_argument("--header-timeout", type=float, default=D.header_timeout_seconds, metavar="SECONDS",
                   help=f"close a connection that has not sent a whole request head by then (default "
                        f"{D.header_timeout_seconds:g})")
    s.add_argument("--max-connections", type=_positive_int, default=D.max_connections, metavar="N",
                   help=f"connections served at once; past it new ones get 503 (default {D.max_connections})")
    s.add_argument("--signups-per-hour", type=_positive_int, default=D.signups_per_hour, metavar="N",
                   help=f"sign-ups one client address may make in an hour (default {D.signups_per_hour})")
    s.add_argument("--forwarded-allow-ips", action="append", metavar="IP",
                   help="a proxy in front of the server whose X-Forwarded-For names the client (repeat for several; "
                        "default: none, the peer's own address counts)")
    s.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a Host name the server answers (repeat for several; default: localhost, 127.0.0.1, ::1; "
                        "'*' for any, e.g. behind a proxy that checks it)")
    s.add_argument("--allowed-origin", action="append", metavar="URL",
                   help="another site whose pages may upload and write (repeat for several; default: none, only "
                        "this server's own page)")
