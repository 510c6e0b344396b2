"""``cameoguard detect train|eval|score``: train a calibrated detector, measure it, score files.

A thin shell over :mod:`cameoguard.detection.training`, :mod:`cameoguard.detection.evaluation`
and :class:`~cameoguard.detection.scorer.CalibratedScorer`: parse arguments, run, print a
table or ``--json``.

* ``train`` loads a dataset (``--dataset NAME --root PATH --option KEY=VALUE``; repeat the
  ``--dataset``/``--root`` pair to combine several), splits it by group (test 0.2, val 0.2,
  ``--seed``), fits on train, calibrates on val, measures on test and writes ``-o MODEL`` with
  its card. The card's ``training_data`` names the datasets and options, its ``split`` the
  seed and fractions, which ``eval --split test`` reads back. Data that cannot train (one
  class in a split) writes nothing.
* ``eval`` scores a dataset with a saved model: ``--split test`` (default) re-creates the
  training split and scores its test part (seed: ``--seed``, else the one the card records,
  else ``cameoguard``, the training default); ``--split all`` scores every sample (another
  dataset: cross-dataset evaluation).
* ``synth`` builds face-swap training data with the generation core's own face swap, each fake
  beside its same-codec original, both watermarked with this deployment's key.
* ``score`` prints each file's calibrated fake probability and verdict (``--json``: the
  scorer's rows, per-frame detail for video). The model is ``--model`` or
  ``CAMEOGUARD_DETECTOR_MODEL``.

Exit codes as everywhere: 0 ok, 1 some file could not be scored, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from cameoguard.datasets import Dataset
    from cameoguard.detection.evaluation import Evaluation
    from cameoguard.detection.scorer import FileScore
    from cameoguard.detection.training import TrainingResult
    from cameoguard.settings import Settings

__all__ = ["add_parsers", "run_detect"]

#: The detectors ``detect train`` can save and ``CalibratedScorer`` can load.
TRAINABLE = ("face_cnn", "spectral")
DEFAULT_SEED = "cameoguard"
_METRICS = ("n", "fake", "unscored", "auc", "ap", "eer", "ece", "accuracy_at_threshold")


def add_parsers(sub: Any) -> None:
    detect = sub.add_parser("detect", help="train, evaluate and apply a calibrated detector")
    actions = detect.add_subparsers(dest="detect_command", required=True, metavar="ACTION")

    def dataset_args(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--dataset",
            required=True,
            metavar="NAME",
            action="append",
            help="dataset loader (faceforensics, ffpp_flat, celebdf, dfdc, "
            "folder, csv); repeat --dataset/--root to combine datasets",
        )
        parser.add_argument(
            "--root",
            type=Path,
            required=True,
            action="append",
            help="the dataset's folder (one per --dataset, in order)",
        )
        parser.add_argument(
            "--option",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="loader option, e.g. compression=c23 (repeatable)",
        )

    train = actions.add_parser("train", help="fit, calibrate and test a detector on a dataset")
    dataset_args(train)
    train.add_argument("--detector", required=True, choices=TRAINABLE)
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="detector parameter, e.g. epochs=3 (repeatable)",
    )
    train.add_argument(
        "--fpr",
        type=float,
        default=0.01,
        help="false-positive rate on real media for the verdict (default 0.01)",
    )
    train.add_argument("--seed", default=DEFAULT_SEED, help="split seed (default cameoguard)")
    train.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep face crops here between runs (face detectors)",
    )
    train.add_argument(
        "--frames",
        type=int,
        default=16,
        help="video frames sampled per file for face crops (default 16)",
    )
    train.add_argument("-o", "--output", type=Path, required=True, metavar="MODEL")
    train.add_argument("--json", action="store_true")

    ev = actions.add_parser("eval", help="score a dataset with a trained model; metrics")
    ev.add_argument("--model", type=Path, required=True)
    dataset_args(ev)
    ev.add_argument(
        "--split",
        choices=("test", "all"),
        default="test",
        help="test: the training split's test part (default); all: every sample",
    )
    ev.add_argument("--seed", help="split seed (default: the card's, else cameoguard)")
    ev.add_argument("--frames", type=int, default=16, help="video frames sampled (default 16)")
    ev.add_argument("--json", action="store_true")

    synth = actions.add_parser(
        "synth", help="build face-swap training data (cameo_composite) paired with originals"
    )
    synth.add_argument("output", type=Path, metavar="OUT", help="a new or empty folder")
    synth.add_argument(
        "--people",
        type=Path,
        action="append",
        required=True,
        metavar="DIR",
        help="a folder with one sub-folder of photos/videos per person; its videos are people "
        "of their own (repeatable)",
    )
    synth.add_argument(
        "--exclude", action="append", default=[], metavar="NAME", help="sub-folder to skip"
    )
    synth.add_argument("--cluster-size", type=int, default=2)
    synth.add_argument("--fakes-per-target", type=int, default=1)
    synth.add_argument("--video-seconds", type=float, default=3.0)
    synth.add_argument("--seed", default=DEFAULT_SEED)
    synth.add_argument("--json", action="store_true")

    score = actions.add_parser("score", help="calibrated fake probability and verdict per file")
    score.add_argument("files", type=Path, nargs="+", metavar="FILE")
    score.add_argument(
        "--model", type=Path, help="trained model (default: CAMEOGUARD_DETECTOR_MODEL)"
    )
    score.add_argument("--frames", type=int, default=16, help="video frames sampled (default 16)")
    score.add_argument("--json", action="store_true")


def _pairs(flag: str, pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; a value that is JSON (numbers, true, lists) is decoded."""
    from cameoguard.errors import BadInputError

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"{flag} {pair!r} is not KEY=VALUE (e.g. {flag} frames=8)")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _frames(value: int) -> int:
    from cameoguard.errors import BadInputError

    if not 1 <= value <= 256:
        raise BadInputError(f"--frames {value}: sample between 1 and 256 frames")
    return value


def _load(args: argparse.Namespace) -> tuple[Dataset, dict[str, Any]]:
    """The dataset(s) named by --dataset/--root pairs; each --option goes to every loader that
    has it (an option no loader has is an error)."""
    from cameoguard.datasets import combine_datasets, load_dataset, loader_options
    from cameoguard.errors import BadInputError

    if len(args.dataset) != len(args.root):
        raise BadInputError(
            f"{len(args.dataset)} --dataset but {len(args.root)} --root: give one --root per "
            "--dataset, in the same order"
        )
    options = _pairs("--option", args.option)
    accepted = {n: set(loader_options(n)) for n in args.dataset}
    unused = sorted(k for k in options if not any(k in a for a in accepted.values()))
    if unused and len(args.dataset) > 1:
        raise BadInputError(
            f"no loader of {', '.join(args.dataset)} has option {', '.join(map(repr, unused))}"
        )
    parts = [
        load_dataset(
            name,
            root,
            **(
                options
                if len(args.dataset) == 1
                else {k: v for k, v in options.items() if k in accepted[name]}
            ),
        )
        for name, root in zip(args.dataset, args.root, strict=True)
    ]
    return combine_datasets(parts), options


def _message(path: str, message: str) -> str:
    """``message`` without a leading ``path: `` (errors name their file already)."""
    return message.removeprefix(f"{path}: ")


def _stderr_progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _metrics_table(title: str, rows: dict[str, dict[str, Any]]) -> Table:
    columns = [c for c in _METRICS if any(c in m for m in rows.values())]
    table = Table(title=title, title_justify="left")
    for name in ("", *columns):
        table.add_column(name, justify="left" if name == "" else "right")
    for key, m in rows.items():
        table.add_row(escape(key), *(_fmt(m.get(c, "-")) for c in columns))
    return table


# ------------------------------------------------------------------ train


def _train(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    from cameoguard.consent.faces import FaceDetector
    from cameoguard.datasets.crops import CropSettings
    from cameoguard.detection.card import card_path
    from cameoguard.detection.training import save_trained, train_detector
    from cameoguard.errors import BadInputError
    from cameoguard.media import Limits

    if not 0 < args.fpr < 1:
        raise BadInputError(f"--fpr {args.fpr}: a false-positive rate between 0 and 1 (e.g. 0.01)")
    dataset, options = _load(args)
    params = _pairs("--param", args.param)
    shown = f" (options: {json.dumps(options, sort_keys=True)})" if options else ""
    described = " + ".join(
        f"{n} dataset at {r}" for n, r in zip(args.dataset, args.root, strict=True)
    )
    described += f"{shown}, {len(dataset)} samples"
    with FaceDetector() as faces:

        def run() -> TrainingResult:
            return train_detector(
                dataset.samples,
                args.detector,
                limits=Limits.from_settings(settings),
                faces=faces,
                crops=CropSettings(frames=_frames(args.frames)),
                cache_dir=args.cache,
                fpr=args.fpr,
                seed=str(args.seed),
                params=params,
            )

        if args.json:
            result = run()
        else:
            with Console(stderr=True).status(f"training {args.detector} on {len(dataset)} samples"):
                result = run()
    card = save_trained(result, args.output, training_data=described)
    card_file = card_path(args.output)
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.output),
                    "card": str(card_file),
                    "detector": card.name,
                    "training_data": card.training_data,
                    "dataset": dataset.summary(),
                    "counts": result.counts,
                    "test_metrics": result.metrics,
                    "operating_points": card.operating_points,
                },
                indent=2,
            )
        )
        return 0
    console.print(
        f"[green]trained[/green] {card.name} -> {escape(str(args.output))} "
        f"(card {escape(card_file.name)})"
    )
    counts = Table("split", "pictures", "fake")
    for name, c in result.counts.items():
        counts.add_row(name, str(c["pictures"]), str(c["fake"]))
    console.print(counts)
    console.print(
        _metrics_table("test metrics (per picture, calibrated)", {"test": result.metrics})
    )
    points = result.points
    console.print(
        f"verdict: likely manipulated at p >= {points.manipulated:.3f} (fpr "
        f"{points.measured_fpr:.3f} on val reals), likely real at p <= "
        f"{points.real:.3f}"
    )
    return 0


# ------------------------------------------------------------------ eval


def _card_split(model: Path) -> dict[str, Any]:
    """The split the card records (``detect train`` writes seed and fractions), if any."""
    from cameoguard.detection.card import ModelCard, card_path

    card_file = card_path(model)
    if not card_file.is_file():
        return {}  # the scorer says what is missing
    return dict(ModelCard.load(card_file).split or {})


def _print_evaluation(console: Console, ev: Evaluation, seed: str | None) -> None:
    where = f"the test split (seed {seed!r})" if seed is not None else "all samples"
    counts = ev.to_dict()["files"]
    console.print(
        f"[bold]{ev.detector}[/bold] on {where}: {counts['total']} files, "
        f"{counts['scored']} scored, {counts['unscored']} unscored "
        f"({counts['failed']} failed)"
    )
    console.print(
        _metrics_table(
            "metrics (calibrated)", {"files": ev.file_metrics(), "frames/faces": ev.frame_metrics()}
        )
    )
    by_method = ev.breakdown("method")
    if set(by_method) - {"none"}:
        console.print(_metrics_table("by method (its fakes against all reals)", by_method))
    by_dataset = ev.breakdown("dataset")
    if len(by_dataset) > 1:
        console.print(_metrics_table("by dataset", by_dataset))
    shown = ev.unscored[:20]
    for row in shown:
        style = "red" if row.error else "yellow"
        console.print(
            f"  [{style}]unscored[/{style}] {escape(row.path)}: "
            f"{escape(_message(row.path, row.note or ''))}",
            soft_wrap=True,
        )
    if len(ev.unscored) > len(shown):
        console.print(f"  ... and {len(ev.unscored) - len(shown)} more (see --json)")


def _eval(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    from cameoguard.consent.faces import FaceDetector
    from cameoguard.detection.evaluation import evaluate
    from cameoguard.detection.scorer import CalibratedScorer
    from cameoguard.detection.training import split_for_training
    from cameoguard.media import Limits

    limits = Limits.from_settings(settings)
    dataset, _ = _load(args)
    seed: str | None = None
    samples = dataset.samples
    if args.split == "test":
        split = _card_split(args.model)
        seed = args.seed or (str(split["seed"]) if "seed" in split else DEFAULT_SEED)
        samples = split_for_training(samples, {**split, "seed": seed})["test"]
    with FaceDetector() as faces:
        scorer = CalibratedScorer.load(args.model, faces, limits, frames=_frames(args.frames))
        if args.json:
            result = evaluate(scorer, samples)
        else:
            with _stderr_progress() as bar:
                task = bar.add_task(f"eval {scorer.name}", total=len(samples))
                result = evaluate(
                    scorer, samples, progress=lambda done, _: bar.update(task, completed=done)
                )
    if args.json:
        print(
            json.dumps(
                {
                    "model": str(args.model),
                    "dataset": args.dataset,
                    "root": str(dataset.root),
                    "split": args.split,
                    "seed": seed,
                    **result.to_dict(),
                },
                indent=2,
            )
        )
    else:
        _print_evaluation(console, result, seed)
    return 1 if result.failed else 0


# ------------------------------------------------------------------ score


def _score_line(console: Console, score: FileScore) -> None:
    path = escape(score.path)
    if score.fake_probability is None or score.verdict is None:
        console.print(
            f"{path}: [yellow]no score[/yellow] ({escape(score.note or '')})", soft_wrap=True
        )
        return
    colour = {"likely_real": "green", "uncertain": "yellow"}.get(score.verdict.value, "red")
    span = f"; {escape(score.span)}" if score.span else ""
    frames = f" on {score.frames_sampled} frames" if score.frames_sampled > 1 else ""
    n = len(score.faces)
    console.print(
        f"{path}: fake probability {score.fake_probability:.3f}, "
        f"[{colour}]{score.verdict.value.replace('_', ' ')}[/{colour}]"
        f" ({n} score{'' if n == 1 else 's'}{frames}{span})",
        soft_wrap=True,
    )


def _score(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    from cameoguard.consent.faces import FaceDetector
    from cameoguard.detection.scorer import CalibratedScorer
    from cameoguard.errors import BadInputError, CameoguardError, ConfigurationError
    from cameoguard.media import Limits

    model = args.model or settings.detector_model
    if model is None:
        raise ConfigurationError(
            "no detector model configured: set CAMEOGUARD_DETECTOR_MODEL to a model trained "
            "with `cameoguard detect train`, or pass --model MODEL",
            code="detection.no_model",
        )
    code = 0
    rows: list[dict[str, Any]] = []
    with FaceDetector() as faces:
        scorer = CalibratedScorer.load(
            model, faces, Limits.from_settings(settings), frames=_frames(args.frames)
        )
        for path in args.files:
            try:
                result = scorer.score(path)
            except CameoguardError as exc:
                bad = isinstance(exc, BadInputError | ConfigurationError)
                code = max(code, 2 if bad else 1)
                rows.append(
                    {
                        "path": str(path),
                        "detector": scorer.name,
                        "fake_probability": None,
                        "verdict": None,
                        "error": {"code": exc.code, "message": exc.message},
                    }
                )
                if not args.json:
                    message = escape(_message(str(path), exc.message))
                    console.print(
                        f"{escape(str(path))}: [red]error:[/red] {message}", soft_wrap=True
                    )
                continue
            rows.append(result.to_dict())
            if not args.json:
                _score_line(console, result)
    if args.json:
        print(json.dumps(rows, indent=2))
    return code


def run_detect(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    command = args.detect_command
    if command == "train":
        return _train(args, console, settings)
    if command == "eval":
        return _eval(args, console, settings)
    if command == "synth":
        return _synth(args, console, settings)
    return _score(args, console, settings)


def _synth(args: argparse.Namespace, console: Console, settings: Settings) -> int:
    """Face swaps of real people leave only watermarked: the deployment's key marks both
    sides of every pair (see :mod:`cameoguard.datasets.synthetic`)."""
    from cameoguard.consent.faces import FaceDetector
    from cameoguard.datasets.synthetic import SynthSettings, build_composites, people_from_folders
    from cameoguard.media import Limits
    from cameoguard.watermark.keys import load_or_create_watermark_key
    from cameoguard.watermark.marker import Watermarker

    options = SynthSettings(
        cluster_size=args.cluster_size,
        fakes_per_target=args.fakes_per_target,
        video_seconds=args.video_seconds,
        seed=str(args.seed),
    )
    people = people_from_folders(args.people, exclude=args.exclude)
    marker = Watermarker(load_or_create_watermark_key(settings.watermark_key_path))
    with FaceDetector() as faces:
        if args.json:
            report = build_composites(
                people,
                args.output,
                marker=marker,
                faces=faces,
                limits=Limits.from_settings(settings),
                settings=options,
            )
        else:
            with Console(stderr=True).status(f"swapping faces of {len(people)} people"):
                report = build_composites(
                    people,
                    args.output,
                    marker=marker,
                    faces=faces,
                    limits=Limits.from_settings(settings),
                    settings=options,
                )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0
    console.print(
        f"[green]built[/green] {report.fake} fakes and {report.real} originals in "
        f"{len(report.clusters)} clusters -> {escape(str(report.csv_path))} (all watermarked "
        f"with key {marker.key_id})"
    )
    for file, reason in report.skipped:
        console.print(f"  skipped {escape(file)}: {escape(reason)}")
    console.print(
        f"train with: cameoguard detect train --dataset csv --root {escape(str(args.output))} ..."
    )
    return 0
