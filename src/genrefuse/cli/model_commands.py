"""Commands on data and models: synth, features, extract, train, evaluate, compare, embed, models, predict,
classify and demo."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import GenrefuseError
from ..display import confidence_text
from .common import (CACHE_HELP, counted, sureness, DEVICE_HELP, FAMILIARITY_HELP, JOBS_HELP, MODEL_HELP, _fraction, _non_negative, _positive_int,
                     _report_failures, command, output_option)

@command("synth")
def cmd_synth(a: argparse.Namespace) -> int:
    from ..datasets.synth import SYNTH_GENRES, synthesize

    genres = tuple(a.genres.split(",")) if a.genres else SYNTH_GENRES
    paths = synthesize(a.out_dir, per_genre=a.per_genre, seconds=a.seconds, seed=a.seed, genres=genres, jobs=a.jobs)
    print(f"{len(paths)} clips of {len(genres)} genres in {a.out_dir}")
    return 0


@command("features")
def cmd_features(a: argparse.Namespace) -> int:
    from ..datasets.extract import features_table
    from ..datasets.layouts import discover

    items = discover(a.inputs)
    if not items:
        raise GenrefuseError(f"no audio files found in {', '.join(map(str, a.inputs))}")
    report = features_table(items, a.out, jobs=a.jobs)
    print(f"{report.ok} rows written to {a.out}")
    _report_failures(report.failures, "files")
    return report.exit_status


@command("extract")
def cmd_extract(a: argparse.Namespace) -> int:
    from ..datasets.extract import extract_dataset
    from ..datasets.layouts import discover

    items = discover(a.dataset)
    if not items:
        raise GenrefuseError(f"{a.dataset}: no audio files found")
    rows, report = extract_dataset(items, a.out, jobs=a.jobs)
    print(f"{len(rows)} clips cached in {a.out} (manifest: {Path(a.out) / 'manifest.csv'})")
    _report_failures(report.failures, "files")
    return report.exit_status


def _train_config(a: argparse.Namespace):
    from ..models.kinds import KINDS
    from ..training.trainer import AUGMENT_SEGMENT_SECONDS, TrainConfig

    config = TrainConfig(epochs=a.epochs, batch_size=a.batch_size, lr=a.lr, patience=a.patience, seed=a.seed,
                         device=a.device, precision=a.precision, fusion=a.fusion,
                         input_noise=a.input_noise, members=a.ensemble, augment=a.augment,
                         augment_variants=a.augment_variants, segments=a.segments)
    kind = KINDS.get(getattr(a, "model", None) or "fusion")
    if config.with_implied_segments(reads_mel=kind is None or kind.uses_mel) is not config:
        print(f"genrefuse: --augment trains on {AUGMENT_SEGMENT_SECONDS:g} s segments (as --segments "
              f"{AUGMENT_SEGMENT_SECONDS:g}): on whole windows it cost clean accuracy when measured; --segments "
              "sets another length", file=sys.stderr)
    return config


def _print_report(report: dict, out: Path) -> None:
    from ..training.reports import format_report

    print(format_report(report))
    if "cv_mean_accuracy" in report:
        print(f"{report['folds']}-fold CV accuracy {report['cv_mean_accuracy']:.3f} +- {report['cv_std_accuracy']:.3f}")
    for name in ("report.json", "classification_report.txt", "confusion_matrix.png", "curves.png", "model"):
        if (out / name).exists():
            print(f"  {out / name}")


@command("train")
def cmd_train(a: argparse.Namespace) -> int:
    from ..training import distributed
    from ..training.run import train_run

    data = [a.data, *a.base] if a.base else a.data
    if a.nproc and not distributed.launched():
        from ..datasets.labelled import load_labelled
        from ..models.kinds import model_kind

        spec = model_kind(a.model)      # features and taggrams cached once, not by every process
        load_labelled(data, with_mel=spec.uses_mel, with_tags=spec.uses_tags, embeddings=a.embeddings,
                      cache_dir=a.cache, jobs=a.jobs)
        return distributed.launch(_without_nproc(a.argv), a.nproc)
    distributed.init(a.device)
    report = train_run(data, a.out, kind=a.model, config=_train_config(a), split=a.split, folds=a.folds,
                       split_dir=a.split_dir, cache_dir=a.cache, embeddings=a.embeddings, jobs=a.jobs,
                       progress=distributed.rank() == 0, write=distributed.rank() == 0)
    distributed.finish()
    if distributed.rank() == 0:
        _print_report(report, a.out)
    return 0


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for x in argv:
        if skip:
            skip = False
        elif x == "--nproc":
            skip = True
        elif not x.startswith("--nproc="):
            out.append(x)
    return out


@command("evaluate")
def cmd_evaluate(a: argparse.Namespace) -> int:
    from ..training.run import evaluate_run

    report = evaluate_run(a.model_dir, a.data, a.out, cache_dir=a.cache, embeddings=a.embeddings, jobs=a.jobs,
                          device=a.device)
    _print_report(report, a.out)
    return 0


@command("compare")
def cmd_compare(a: argparse.Namespace) -> int:
    from ..models.kinds import PAPER_KINDS, model_kind
    from ..training.run import compare_run

    kinds = tuple(model_kind(k.strip()).name for k in a.models.split(",")) if a.models else PAPER_KINDS
    compare_run(a.data, a.out, kinds=kinds, config=_train_config(a), split=a.split, folds=a.folds,
                split_dir=a.split_dir, cache_dir=a.cache, embeddings=a.embeddings, jobs=a.jobs)
    print((a.out / "comparison.md").read_text())
    return 0


@command("embed")
def cmd_embed(a: argparse.Namespace) -> int:
    from ..datasets.embed_files import embed_inputs

    report = embed_inputs(a.inputs, a.out, hop=a.hop, penultimate=a.penultimate, jobs=a.jobs)
    print(f"{report.ok} files, {report.patches} patches -> {a.out}")
    _report_failures(report.failures, "files")
    return report.exit_status


def _model_and_inputs(model: str | None, args: list[str]) -> tuple[str, list[str]]:
    """``predict [MODEL] FILE...``: the first argument names the model when it is 'default', a model
    folder or a run folder and more arguments follow; else every argument is an input."""
    from ..models.bundle import DEFAULT_MODEL, names_a_model

    if model is not None:
        return model, args
    if len(args) > 1 and names_a_model(args[0]):
        return args[0], args[1:]
    return DEFAULT_MODEL, args


@command("models")
def cmd_models(a: argparse.Namespace) -> int:
    from ..models.bundle import describe_model

    print(describe_model(a.model))
    return 0


@command("predict")
def cmd_predict(a: argparse.Namespace) -> int:
    import json

    from .. import load_model
    from ..audio import iter_audio_files

    model_arg, inputs = _model_and_inputs(a.model, a.inputs)
    model = load_model(model_arg, min_confidence=a.min_confidence, min_familiarity=a.min_familiarity)
    failed = seen = 0
    for path, pred, err in model.predict_files(iter_audio_files(inputs)):
        seen += 1
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
            if pred.unknown:
                print(f"{path}\tunknown\tnone of the model's genres (familiarity {pred.familiarity:.3f}; closest "
                      f"{pred.genre} {confidence_text(pred.confidence, model.rules.threshold(pred.genre))})\t({top})",
                      flush=True)
                continue
            styles = f"\tstyles: {', '.join(n for n, _ in pred.styles[:3])}" if a.styles and pred.styles else ""
            print(f"{path}\t{pred.genre}\t{sureness(pred.verdict.fields(), model.rules)}\t({top})"
                  f"{styles}", flush=True)
    if not seen:
        raise GenrefuseError(f"no audio files in {', '.join(inputs)}")
    return 1 if failed else 0




@command("classify")
def cmd_classify(a: argparse.Namespace) -> int:
    from ..inference.classify import classify

    from ..audio import iter_audio_files

    if not a.folder.is_dir():
        raise GenrefuseError(f"{a.folder}: no such folder")
    if next(iter(iter_audio_files([a.folder])), None) is None:        # before any CSV is written
        raise GenrefuseError(f"no audio files in {a.folder}")
    r = classify(a.folder, model_dir=a.model, out=a.out, jobs=a.jobs, scheduler=a.scheduler, chunk_size=a.chunk_size)
    print(f"{counted(r.done, 'files')} classified into {a.out} in {r.seconds:.1f} s ({r.clips_per_second:.2f} files/s); "
          f"{r.skipped} already there" + ("; interrupted: run the same command again to classify the rest"
                                          if r.interrupted else ""))
    _report_failures(r.failures, "files")
    if r.interrupted:
        return 130
    return 1 if r.failures else 0


@command("demo")
def cmd_demo(a: argparse.Namespace) -> int:
    import time

    from ..demo import RESULTS, run_demo
    from ..training.reports import format_report

    t0 = time.time()
    report, run = run_demo(out=a.out, data=a.data, per_genre=a.per_genre, seconds=a.seconds, epochs=a.epochs,
                           jobs=a.jobs)
    print(f"\n{format_report(report)}\n")
    for name, what in RESULTS:
        print(f"  {what:<42}{run / name}")
    print(f"\nDone in {time.time() - t0:.0f} s. Predict with: genrefuse predict {run / 'model'} FILE...")
    return 0


def add_parsers(sub) -> None:
    jobs_help, device_help, cache_help = JOBS_HELP, DEVICE_HELP, CACHE_HELP
    s = sub.add_parser("synth", help="render a labelled synthetic-genre dataset (folder per genre)")
    output_option(s, "out_dir", folder=True, help="folder to write <genre>/<genre>.NNNNN.wav into")
    s.add_argument("--per-genre", type=int, required=True, help="clips per genre")
    s.add_argument("--seconds", type=float, default=30.0, help="clip length (default 30, as GTZAN)")
    s.add_argument("--seed", type=int, default=0, help="random seed; the same seed renders the same audio (default 0)")
    s.add_argument("--genres", help="comma-separated subset of the synthetic genres")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("features", help="compute the 57-feature GTZAN table of audio files or folders")
    s.add_argument("inputs", nargs="+", type=Path, help="audio files, folders (genre subfolders give the label) or a manifest CSV")
    output_option(s, "--out", kind="csv", required=True, metavar="FILE.csv", help="CSV to write (columns of features_30_sec.csv)")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("extract", help="cache both model inputs (Mel and table) of a whole dataset")
    s.add_argument("dataset", type=Path, help="GTZAN copy, folder of genre folders, or manifest CSV (path,label)")
    output_option(s, "--out", folder=True, required=True, help="cache folder")
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
        s.add_argument("--augment", nargs="?", const="default", metavar="POLICY",
                       help="augment the training clips of the audio kinds (cnn, fusion, fusion+musicnn): 'default' "
                            "(the value when none is given) or a comma-separated choice of shift, gain, pitch, "
                            "stretch, noise, lowpass, highpass, specaugment (strengths in training/augment.py); "
                            "implies --segments 3 unless --segments is given")
        s.add_argument("--augment-variants", type=_positive_int, default=2, metavar="K",
                       help="augmented copies of each training clip, computed once and cached (default 2)")
        s.add_argument("--segments", type=float, metavar="SECONDS",
                       help="train on segments of this length (3: as features_3_sec.csv) and predict a track "
                            "as the mean of its segments' probabilities")

    embeddings_help = ("musicnn taggrams (an npz from `genrefuse embed` or the published GTZAN ones) for the "
                       "musicnn kinds, joined to the data by file stem; without it they are computed from audio")
    from ..datasets import SPLITS
    from ..models.kinds import FUSIONS, MODEL_KINDS, kinds_help

    s = sub.add_parser("train", help="train a model; results and the model bundle go to RUN_DIR")
    s.add_argument("data", type=Path, help="audio dataset, a genrefuse library (its confirmed genres), or a features "
                        "CSV like features_30_sec.csv (the table kinds mlp, knn, svm, logreg; "
                        "with --embeddings also mlp+musicnn, logreg+musicnn and musicnn)")
    output_option(s, "--out", folder=True, required=True, help="run folder")
    s.add_argument("--model", choices=MODEL_KINDS, default="fusion", metavar="KIND",
                   help=f"model kind (default fusion): {kinds_help()}")
    s.add_argument("--nproc", type=_positive_int, metavar="N",
                   help="data-parallel training in N processes on this machine (torch.distributed: gloo on CPU, "
                        "NCCL on CUDA, launched as torchrun does; across machines run torchrun yourself)")
    s.add_argument("--base", action="append", type=Path, metavar="DATA",
                   help="more labelled data to train on beside DATA (repeatable), e.g. a library's corrections "
                        "on top of the data a model was first trained on; --embeddings then serve feature tables, "
                        "audio gets its taggrams from its audio")
    training_options(s)

    s = sub.add_parser("evaluate", help="results of a saved model on labelled data")
    s.add_argument("model_dir", help="a model folder (RUN_DIR/model), its run folder RUN_DIR, or 'default' (the packaged model)")
    s.add_argument("data", type=Path, help="labelled audio dataset, or a features CSV for table-only models")
    output_option(s, "--out", folder=True, required=True, help="folder for report.json, classification_report.txt, the confusion matrix and predictions.csv")
    s.add_argument("--device", default="auto", help=device_help)
    s.add_argument("--cache", type=Path, help=cache_help)
    s.add_argument("--jobs", type=int, help=jobs_help)
    s.add_argument("--embeddings", type=Path, help=embeddings_help)

    s = sub.add_parser("embed", help="musicnn taggrams of every 3 s patch of audio files or folders, to an npz")
    s.add_argument("inputs", nargs="+", type=Path, help="audio files, or folders (genre subfolders give labels)")
    output_option(s, "--out", kind="npz", required=True, metavar="FILE.npz", help="the npz to write (X, Y, IDS, GENRES)")
    s.add_argument("--hop", type=float, default=1.0, help="seconds between patch starts (default 1.0)")
    s.add_argument("--penultimate", action="store_true", help="also store the 200 penultimate features as P")
    s.add_argument("--jobs", type=int, help=jobs_help)

    s = sub.add_parser("compare", help="train every model kind on the same split and tabulate accuracy and macro-F1")
    s.add_argument("data", type=Path, help="audio dataset, or a features CSV (table-only kinds)")
    output_option(s, "--out", folder=True, required=True, help="folder for comparison.md, comparison.json and one run folder per kind")
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
    s.add_argument("--top", type=_positive_int, metavar="K", help="only the K most probable genres")
    s.add_argument("--min-confidence", type=_fraction, metavar="X",
                   help="call answers less confident than X unsure (default: the model's own threshold)")
    s.add_argument("--min-familiarity", type=_fraction, metavar="X", help=FAMILIARITY_HELP)
    s.add_argument("--styles", action="store_true", help="also show the musicnn tagger's styles (electronic, house, "
                   "punk, ...; --json always has them)")

    s = sub.add_parser("classify", help="classify a whole music library into a CSV (process pool or Dask cluster)")
    s.add_argument("folder", type=Path, help="the music library: a folder walked for audio files")
    s.add_argument("--model", default="default", help=MODEL_HELP)
    output_option(s, "--out", kind="csv", resumes=True, required=True, metavar="FILE.csv", help="results CSV; an interrupted run resumes from it")
    s.add_argument("--jobs", type=int, help=jobs_help + "; with --scheduler local, the Dask workers")
    s.add_argument("--scheduler", help="run on Dask: tcp://HOST:PORT of a scheduler, or 'local' for a LocalCluster")
    s.add_argument("--chunk-size", type=int, default=8, help="files per task at most, predicted in one batch (default 8; fewer where that evens out the workers)")

    s = sub.add_parser("demo", help="run the whole pipeline on a synthetic dataset (or --data)")
    s.add_argument("--data", type=Path, help="a real dataset instead (GTZAN copy or folder of genre folders)")
    output_option(s, "--out", folder=True, default=Path("out/demo"), help="where everything goes (default out/demo)")
    s.add_argument("--per-genre", type=int, default=40, help="synthetic clips per genre (default 40)")
    s.add_argument("--seconds", type=float, default=30.0, help="synthetic clip length (default 30)")
    s.add_argument("--epochs", type=int, default=25, help="training epochs (default 25)")
    s.add_argument("--jobs", type=int, help=jobs_help)
