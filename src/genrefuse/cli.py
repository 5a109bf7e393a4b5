"""The ``genrefuse`` command: one thin sub-command per step, each calling a library function."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import GenrefuseError
from .parallel import default_jobs

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def command(name: str):
    def register(fn):
        COMMANDS[name] = fn
        return fn
    return register


def _fail(msg: str) -> None:
    print(f"genrefuse: error: {msg}", file=sys.stderr)


def _report_failures(failures: list[str], what: str) -> None:
    if failures:
        print(f"{len(failures)} {what} failed:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)


# ----------------------------------------------------------------------------- foundation
@command("synth")
def cmd_synth(a: argparse.Namespace) -> int:
    from .datasets.synth import SYNTH_GENRES, synthesize

    genres = tuple(a.genres.split(",")) if a.genres else SYNTH_GENRES
    paths = synthesize(a.out_dir, per_genre=a.per_genre, seconds=a.seconds, seed=a.seed, genres=genres, jobs=a.jobs)
    print(f"{len(paths)} clips of {len(genres)} genres in {a.out_dir}")
    return 0


@command("features")
def cmd_features(a: argparse.Namespace) -> int:
    from .datasets.extract import features_table
    from .datasets.layouts import discover

    items = discover(a.inputs)
    if not items:
        raise GenrefuseError(f"no audio files found in {', '.join(map(str, a.inputs))}")
    report = features_table(items, a.out, jobs=a.jobs)
    print(f"{report.ok} rows written to {a.out}")
    _report_failures(report.failures, "files")
    return report.exit_status


@command("extract")
def cmd_extract(a: argparse.Namespace) -> int:
    from .datasets.extract import extract_dataset
    from .datasets.layouts import discover

    items = discover(a.dataset)
    if not items:
        raise GenrefuseError(f"{a.dataset}: no audio files found")
    rows, report = extract_dataset(items, a.out, jobs=a.jobs)
    print(f"{len(rows)} clips cached in {a.out} (manifest: {Path(a.out) / 'manifest.csv'})")
    _report_failures(report.failures, "files")
    return report.exit_status


# ----------------------------------------------------------------------------- model
def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:                  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text!r}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, not {text!r}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return value


def _train_config(a: argparse.Namespace):
    from .training.trainer import TrainConfig

    return TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, patience=a.patience, seed=a.seed,
                       device=a.device, precision=a.precision, fusion=a.fusion,
                       input_noise=a.input_noise, members=a.ensemble)


def _print_report(report: dict, out: Path) -> None:
    from .training.reports import format_report

    print(format_report(report))
    if "cv_mean_accuracy" in report:
        print(f"{report['folds']}-fold CV accuracy {report['cv_mean_accuracy']:.3f} +- {report['cv_std_accuracy']:.3f}")
    for name in ("report.json", "classification_report.txt", "confusion_matrix.png", "curves.png", "model"):
        if (out / name).exists():
            print(f"  {out / name}")


@command("train")
def cmd_train(a: argparse.Namespace) -> int:
    from .training.run import train_run

    report = train_run(a.data, a.out, kind=a.model, config=_train_config(a), split=a.split, folds=a.folds,
                       split_dir=a.split_dir, cache_dir=a.cache, embeddings=a.embeddings, jobs=a.jobs)
    _print_report(report, a.out)
    return 0


@command("evaluate")
def cmd_evaluate(a: argparse.Namespace) -> int:
    from .training.run import evaluate_run

    report = evaluate_run(a.model_dir, a.data, a.out, cache_dir=a.cache, embeddings=a.embeddings, jobs=a.jobs,
                          device=a.device)
    _print_report(report, a.out)
    return 0


@command("compare")
def cmd_compare(a: argparse.Namespace) -> int:
    from .models.kinds import PAPER_KINDS, model_kind
    from .training.run import compare_run

    kinds = tuple(model_kind(k.strip()).name for k in a.models.split(",")) if a.models else PAPER_KINDS
    compare_run(a.data, a.out, kinds=kinds, config=_train_config(a), split=a.split, folds=a.folds,
                split_dir=a.split_dir, cache_dir=a.cache, embeddings=a.embeddings, jobs=a.jobs)
    print((a.out / "comparison.md").read_text())
    return 0


@command("embed")
def cmd_embed(a: argparse.Namespace) -> int:
    from .datasets.embed_files import embed_inputs

    report = embed_inputs(a.inputs, a.out, hop=a.hop, penultimate=a.penultimate, jobs=a.jobs)
    print(f"{report.ok} files, {report.patches} patches -> {a.out}")
    _report_failures(report.failures, "files")
    return report.exit_status


def _model_and_inputs(model: str | None, args: list[str]) -> tuple[str, list[str]]:
    """``predict [MODEL] FILE...``: the first argument names the model when it is 'default', a model
    folder or a run folder and more arguments follow; else every argument is an input."""
    from .models.bundle import DEFAULT_MODEL, names_a_model

    if model is not None:
        return model, args
    if len(args) > 1 and names_a_model(args[0]):
        return args[0], args[1:]
    return DEFAULT_MODEL, args


@command("models")
def cmd_models(a: argparse.Namespace) -> int:
    from .models.bundle import describe_model

    print(describe_model(a.model))
    return 0


@command("predict")
def cmd_predict(a: argparse.Namespace) -> int:
    import json

    from . import load_model
    from .audio import iter_audio_files

    model_arg, inputs = _model_and_inputs(a.model, a.inputs)
    model = load_model(model_arg)
    if a.min_confidence is not None:
        model.min_confidence = a.min_confidence
    failed = 0
    for path, pred, err in model.predict_files(iter_audio_files(inputs)):
        if err:
            failed += 1
            if a.json:
                print(json.dumps({"path": path, "error": err}), flush=True)
            else:
                print(f"genrefuse: error: {err}", file=sys.stderr)
            continue
        if a.json:
            print(json.dumps(pred.to_json(top=a.top)), flush=True)
        else:
            top = ", ".join(f"{g} {p:.3f}" for g, p in pred.top(a.top or 3))
            sure = "unsure" if pred.unsure else "sure"
            print(f"{path}\t{pred.genre}\t{pred.confidence:.2f} {sure}\t({top})", flush=True)
    return 1 if failed else 0


# ----------------------------------------------------------------------------- library and service
@command("ingest")
def cmd_ingest(a: argparse.Namespace) -> int:
    from .library.ingest import ingest_many

    r = ingest_many(a.inputs, library_dir=a.library, model_dir=a.model, db_url=a.db, jobs=a.jobs)
    for path, track, created in r.tracks:
        sure = "unsure" if track["unsure"] else "sure"
        print(f"{path}\t{track['genre']}\t{track['confidence']:.2f} {sure}\t"
              f"{'added' if created else 'already in the library'} (id {track['id']})")
    print(f"{r.added} tracks added, {r.existing} already in the library ({a.library})")
    _report_failures(r.failures, "files")
    return 1 if r.failures else 0


def _open_library(a: argparse.Namespace):
    """The library's database and genre list, without loading a model when the bundle is absent."""
    from .library.db import default_db_url, make_engine, session_factory

    engine = make_engine(a.db or default_db_url(a.library))
    return session_factory(engine)


@command("users")
def cmd_users(a: argparse.Namespace) -> int:
    from .library.users import create_user
    from .models.bundle import model_folder, model_genres

    Session = _open_library(a)
    genres = model_genres(model_folder(a.model))
    with Session() as s:
        user, token = create_user(s, a.name, [g.strip() for g in a.likes.split(",") if g.strip()], genres)
    print(f"user {user.name} (id {user.id}) created; API token (shown once): {token}")
    return 0


@command("recommend")
def cmd_recommend(a: argparse.Namespace) -> int:
    from .library.recommend import recommend
    from .library.users import user_by_name

    Session = _open_library(a)
    with Session() as s:
        recs = recommend(s, user_by_name(s, a.user), limit=a.limit)
    if not recs:
        print(f"nothing to recommend to {a.user} yet")
    for r in recs:
        because = ", ".join(b["genre"] for b in r["because"])
        print(f"{r['score']:.3f}\t{r['track']['id']}\t{r['track']['genre']}\t{r['track']['name']}\t(because: {because})")
    return 0


@command("serve")
def cmd_serve(a: argparse.Namespace) -> int:
    from .service.app import serve

    serve(model_dir=a.model, library_dir=a.library, db_url=a.db, host=a.host, port=a.port,
          max_upload_mb=a.max_upload_mb, allowed_hosts=a.allowed_host, allowed_origins=a.allowed_origin)
    return 0


@command("classify")
def cmd_classify(a: argparse.Namespace) -> int:
    from .inference.classify import classify

    r = classify(a.folder, model_dir=a.model, out=a.out, jobs=a.jobs, scheduler=a.scheduler, chunk_size=a.chunk_size)
    print(f"{r.done} files classified into {a.out} in {r.seconds:.1f} s ({r.clips_per_second:.2f} files/s); "
          f"{r.skipped} already there")
    _report_failures(r.failures, "files")
    return 1 if r.failures else 0


@command("demo")
def cmd_demo(a: argparse.Namespace) -> int:
    from .demo import run_demo

    run_demo(out=a.out, data=a.data, per_genre=a.per_genre, seconds=a.seconds, epochs=a.epochs, jobs=a.jobs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(prog="genrefuse", description="Music genre classification (CNN + MLP feature fusion) and a genre-filed music library.")
    p.add_argument("--version", action="version", version=f"genrefuse {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    jobs_help = f"worker processes (default: all cores, {default_jobs()} here)"
    device_help = "auto (CUDA when present; default), cpu or cuda"
    cache_help = "feature cache folder (default ~/.cache/genrefuse/features)"

    s = sub.add_parser("synth", help="render a labelled synthetic-genre dataset (folder per genre)")
    s.add_argument("out_dir", type=Path, help="folder to write <genre>/<genre>.NNNNN.wav into")
    s.add_argument("--per-genre", type=int, required=True, help="clips per genre")
    s.add_argument("--seconds", type=float, default=30.0, help="clip length (default 30, as GTZAN)")
    s.add_argument("--seed", type=int, default=0, help="random seed; the same seed renders the same audio (default 0)")
    s.add_argument("--genres", help="comma-separated subset of the synthetic genres")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("features", help="compute the 57-feature GTZAN table of audio files or folders")
    s.add_argument("inputs", nargs="+", type=Path, help="audio files, folders (genre subfolders give the label) or a manifest CSV")
    s.add_argument("--out", type=Path, required=True, help="CSV to write (columns of features_30_sec.csv)")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("extract", help="cache both model inputs (Mel and table) of a whole dataset")
    s.add_argument("dataset", type=Path, help="GTZAN copy, folder of genre folders, or manifest CSV (path,label)")
    s.add_argument("--out", type=Path, required=True, help="cache folder")
    s.add_argument("--jobs", type=int, help=jobs_help)

    def training_options(s: argparse.ArgumentParser) -> None:
        s.add_argument("--epochs", type=int, default=150, help="epochs (default 150, as the paper)")
        s.add_argument("--batch-size", type=int, default=100, help="batch size (default 100, as the paper)")
        s.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
        s.add_argument("--patience", type=int, help="stop after this many epochs without a better validation loss")
        s.add_argument("--split", choices=SPLITS, default="random",
                       help="random: stratified 70/15/15 (default); kfold: stratified k-fold; "
                            "fault-filtered: GTZAN's artist-conscious split (needs --split-dir)")
        s.add_argument("--folds", type=int, default=10, help="folds of --split kfold (default 10)")
        s.add_argument("--split-dir", type=Path, help="folder of train/valid/test_filtered.txt")
        s.add_argument("--seed", type=int, default=0, help="seed of the split, weights and batches (default 0)")
        s.add_argument("--device", default="auto", help=device_help)
        s.add_argument("--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto",
                       help="auto: fp16 mixed precision on CUDA, fp32 on CPU")
        s.add_argument("--cache", type=Path, help=cache_help)
        s.add_argument("--jobs", type=int, help=jobs_help)
        s.add_argument("--fusion", choices=FUSIONS, default="concat",
                       help="how several branches are joined: concat (default), gated (a sigmoid gate on the "
                            "concatenation) or attention (a softmax weight per branch)")
        s.add_argument("--input-noise", type=_non_negative, metavar="SD",
                       help="Gaussian noise, in standard deviations, added to the standardised table and taggram "
                            "inputs while training (default 0.6 for the musicnn kinds, 0 for the paper's)")
        s.add_argument("--ensemble", type=_positive_int, metavar="N",
                       help="train N nets from seeds SEED, SEED+1, ... and average their probabilities "
                            "(default 5 for musicnn and mlp+musicnn, 1 for the others)")
        s.add_argument("--embeddings", type=Path, help=embeddings_help)

    MODEL_HELP = ("a model folder (RUN_DIR/model), its run folder RUN_DIR, or 'default' (the packaged model; "
                  "the default)")
    embeddings_help = ("musicnn taggrams (an npz from `genrefuse embed` or the published GTZAN ones) for the "
                       "musicnn kinds, joined to the data by file stem; without it they are computed from audio")
    from .datasets.labelled import SPLITS
    from .models.fusion import FUSIONS
    from .models.kinds import MODEL_KINDS

    s = sub.add_parser("train", help="train a model; results and the model bundle go to RUN_DIR")
    s.add_argument("data", type=Path, help="audio dataset, or a features CSV like features_30_sec.csv (the table kinds mlp, knn, svm, logreg; "
                        "with --embeddings also mlp+musicnn, logreg+musicnn and musicnn)")
    s.add_argument("--out", type=Path, required=True, help="run folder")
    s.add_argument("--model", choices=MODEL_KINDS, default="fusion", help="model kind (default fusion)")
    training_options(s)

    s = sub.add_parser("evaluate", help="results of a saved model on labelled data")
    s.add_argument("model_dir", help="a model folder (RUN_DIR/model), its run folder RUN_DIR, or 'default' (the packaged model)")
    s.add_argument("data", type=Path, help="labelled audio dataset, or a features CSV for table-only models")
    s.add_argument("--out", type=Path, required=True, help="folder for report.json, classification_report.txt, the confusion matrix and predictions.csv")
    s.add_argument("--device", default="auto", help=device_help)
    s.add_argument("--cache", type=Path, help=cache_help)
    s.add_argument("--jobs", type=int, help=jobs_help)
    s.add_argument("--embeddings", type=Path, help=embeddings_help)

    s = sub.add_parser("embed", help="musicnn taggrams of every 3 s patch of audio files or folders, to an npz")
    s.add_argument("inputs", nargs="+", type=Path, help="audio files, or folders (genre subfolders give labels)")
    s.add_argument("--out", type=Path, required=True, help="the npz to write (X, Y, IDS, GENRES)")
    s.add_argument("--hop", type=float, default=1.0, help="seconds between patch starts (default 1.0)")
    s.add_argument("--penultimate", action="store_true", help="also store the 200 penultimate features as P")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("compare", help="train every model kind on the same split and tabulate accuracy and macro-F1")
    s.add_argument("data", type=Path, help="audio dataset, or a features CSV (table-only kinds)")
    s.add_argument("--out", type=Path, required=True, help="folder for comparison.md, comparison.json and one run folder per kind")
    s.add_argument("--models", help=f"comma-separated subset of {','.join(MODEL_KINDS)}")
    training_options(s)

    s = sub.add_parser("models", help="describe the packaged default model (or another): data, figures, limits")
    s.add_argument("model", nargs="?", default="default", help=MODEL_HELP)

    s = sub.add_parser("predict", help="genre, confidence and probabilities of audio files (folders are walked)")
    s.add_argument("inputs", nargs="+", metavar="[MODEL] FILE_OR_FOLDER",
                   help="audio files or folders, after an optional model: a model folder (RUN_DIR/model), its run "
                        "folder, or 'default' (the packaged model, used when none is named)")
    s.add_argument("--model", help=MODEL_HELP)
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    s.add_argument("--top", type=int, help="only the K most probable genres")
    s.add_argument("--min-confidence", type=_fraction, metavar="X",
                   help="call answers less confident than X unsure (default: the model's own threshold)")

    def library_options(s: argparse.ArgumentParser, *, model_required: bool) -> None:
        s.add_argument("--library", type=Path, required=True, help="library folder (audio filed as <genre>/<hash>.<ext>)")
        s.add_argument("--db", help="database URL (default: sqlite:///LIBRARY/library.sqlite)")
        s.add_argument("--model", default=None if not model_required else "default", help=MODEL_HELP)

    s = sub.add_parser("ingest", help="classify files or folders and file them in the library by genre")
    s.add_argument("inputs", nargs="+", type=Path, help="audio files or folders")
    library_options(s, model_required=True)
    s.add_argument("--jobs", type=int, help=jobs_help)

    users = sub.add_parser("users", help="manage the library's listeners").add_subparsers(dest="users_command", required=True)
    s = users.add_parser("add", help="add a listener; prints the API token once")
    s.add_argument("name", help="the listener's name (unique)")
    s.add_argument("--likes", required=True, help="comma-separated genres the listener likes")
    library_options(s, model_required=True)

    s = sub.add_parser("recommend", help="tracks to recommend to a listener")
    s.add_argument("user", help="the listener's name")
    s.add_argument("--limit", type=int, default=10, help="at most this many tracks (default 10)")
    library_options(s, model_required=False)

    s = sub.add_parser("serve", help="the HTTP API and web page (FastAPI + uvicorn; docs at /docs)")
    library_options(s, model_required=True)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument("--max-upload-mb", type=float, default=50.0, help="upload size limit (default 50 MB)")
    s.add_argument("--allowed-host", action="append", metavar="NAME",
                   help="a Host name the server answers (repeat for several; default: localhost, 127.0.0.1, ::1; "
                        "'*' for any, e.g. behind a proxy that checks it)")
    s.add_argument("--allowed-origin", action="append", metavar="URL",
                   help="another site whose pages may upload and write (repeat for several; default: none, only "
                        "this server's own page)")

    s = sub.add_parser("classify", help="classify a whole music library into a CSV (process pool or Dask cluster)")
    s.add_argument("folder", type=Path, help="the music library: a folder walked for audio files")
    s.add_argument("--model", default="default", help=MODEL_HELP)
    s.add_argument("--out", type=Path, required=True, help="results CSV; an interrupted run resumes from it")
    s.add_argument("--jobs", type=int, help=jobs_help + "; with --scheduler local, the Dask workers")
    s.add_argument("--scheduler", help="run on Dask: tcp://HOST:PORT of a scheduler, or 'local' for a LocalCluster")
    s.add_argument("--chunk-size", type=int, default=8, help="files per task, predicted in one batch (default 8)")

    s = sub.add_parser("demo", help="run the whole pipeline on a synthetic dataset (or --data)")
    s.add_argument("--data", type=Path, help="a real dataset instead (GTZAN copy or folder of genre folders)")
    s.add_argument("--out", type=Path, default=Path("out/demo"), help="where everything goes (default out/demo)")
    s.add_argument("--per-genre", type=int, default=40, help="synthetic clips per genre (default 40)")
    s.add_argument("--seconds", type=float, default=30.0, help="synthetic clip length (default 30)")
    s.add_argument("--epochs", type=int, default=25, help="training epochs (default 25)")
    s.add_argument("--jobs", type=int, help=jobs_help)
    return p


TCMALLOC = ("/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4",
            "/usr/lib64/libtcmalloc_minimal.so.4")
HEAVY = {"train", "compare", "demo", "evaluate", "classify", "embed"}      # predict: start-up matters more


def _reexec_with_tcmalloc(argv: list[str]) -> None:
    """PyTorch training on CPU ran 2.05x faster here with tcmalloc (benchmarks/training.py); preload it
    when it is installed.

    Set GENREFUSE_TCMALLOC=0 to keep the default allocator.
    """
    import os

    if os.environ.get("GENREFUSE_TCMALLOC", "1") == "0" or "tcmalloc" in os.environ.get("LD_PRELOAD", ""):
        return
    if not argv or argv[0] not in HEAVY:
        return
    lib = next((p for p in TCMALLOC if os.path.exists(p)), None)
    if lib:
        env = {**os.environ, "LD_PRELOAD": ":".join(filter(None, [lib, os.environ.get("LD_PRELOAD")]))}
        os.execve(sys.executable, [sys.executable, "-m", "genrefuse.cli", *argv], env)


def _files_not_options(argv: list[str]) -> list[str]:
    """A file named like an option (``--help.wav``) is passed as ``./--help.wav``, so that it is read as the
    file it is."""
    return [f"./{a}" if a.startswith("-") and len(a) > 1 and Path(a).is_file() else a for a in argv]


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        _reexec_with_tcmalloc(sys.argv[1:])
    parser = build_parser()
    args = parser.parse_args(_files_not_options(sys.argv[1:] if argv is None else argv))
    try:
        return COMMANDS[args.command](args)
    except GenrefuseError as exc:
        _fail(str(exc))
        return 2
    except KeyboardInterrupt:
        _fail("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
