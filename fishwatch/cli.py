"""The ``fishwatch`` command line: a thin layer that parses arguments and calls the packages."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from detector.class_map import ClassMapError
from detector.model import ModelLoadError
from detector.output_formats import ModelFormatError
from dispatch.cli import app as dispatch_app
from dispatch.cli import audit_app
from fishwatch.common.cli import fail, user_errors
from fishwatch.config import ConfigError
from fishwatch.config_check import config_app
from fishwatch.zone_editor import zones_app
from models.dataset import DatasetError

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="fishwatch: camera enforcement of a river fishing ban.",
)
synth_app = typer.Typer(no_args_is_help=True, help="Render synthetic riverbank data.")
app.add_typer(synth_app, name="synth")
app.add_typer(dispatch_app, name="dispatch")
app.add_typer(audit_app, name="audit")  # `fishwatch audit verify`, as auditors know it
app.add_typer(config_app, name="config")
app.add_typer(zones_app, name="zones")

#: Errors caused by the user's input whose messages may run on (a library's): first line only.
TERSE_ERRORS = (DatasetError, ModelLoadError, ModelFormatError, ClassMapError, FileNotFoundError)
#: Bad input: ``error: …`` and exit code 2, no traceback; a config error lists every problem.
reports_user_errors = user_errors(ConfigError, *TERSE_ERRORS, first_line_only=TERSE_ERRORS)


def parse_hw(text: str) -> tuple[int, int]:
    """``416`` → (416, 416); ``256x416`` → (256, 416): height x width, multiples of 32."""
    parts = text.lower().split("x")
    try:
        hw = (int(parts[0]), int(parts[-1])) if len(parts) <= 2 else None
    except ValueError:
        hw = None
    if hw is None or min(hw) < 32 or hw[0] % 32 or hw[1] % 32:
        raise typer.BadParameter(f"{text!r}: expected SIZE or HEIGHTxWIDTH, multiples of 32")
    return hw


# --- synth ------------------------------------------------------------------------------------
@synth_app.command("dataset")
@reports_user_errors
def synth_dataset(
    out: Annotated[Path, typer.Argument(help="folder to write images/, labels/, data.yaml into")],
    train: Annotated[int, typer.Option(min=1, help="training images")] = 3000,
    val: Annotated[int, typer.Option(min=0, help="validation images")] = 200,
    seed: Annotated[int, typer.Option(help="dataset seed (same seed, same dataset)")] = 1,
    width: Annotated[int, typer.Option(min=64)] = 640,
    height: Annotated[int, typer.Option(min=64)] = 360,
    workers: Annotated[int, typer.Option(min=1)] = 2,
    mix: Annotated[
        str, typer.Option(help="what scenes hold: standard (as the held-out set) or nets-boats")
    ] = "standard",
) -> None:
    """Render a labelled YOLO-format training set of random riverbank scenes."""
    from models.synth.dataset_writer import DatasetRecipe, write_dataset

    start = time.monotonic()
    try:
        recipe = DatasetRecipe(seed, train, val, width, height, mix=mix)
    except ValueError as exc:
        raise fail(str(exc)) from None
    data_yaml = write_dataset(out, recipe, workers)
    typer.echo(f"wrote {train + val} images in {time.monotonic() - start:.0f} s: {data_yaml}")


@synth_app.command("video")
@reports_user_errors
def synth_video(
    out: Annotated[Path, typer.Argument(help="output .mp4; the ground truth goes to OUT.json")],
    scenario: Annotated[str, typer.Option(help="scenario name (see 'fishwatch synth scenarios')")],
    seed: Annotated[int, typer.Option()] = 1,
    width: Annotated[int, typer.Option(min=64)] = 1280,
    height: Annotated[int, typer.Option(min=64)] = 720,
    duration: Annotated[
        float | None, typer.Option(min=1, help="seconds (default: scenario's)")
    ] = None,
) -> None:
    """Render a scenario clip (H.264, 25 fps, 2 s GOP) with its ground-truth events and boxes."""
    from models.synth.scenarios import render_scenario

    try:
        truth = render_scenario(
            scenario, out, seed, width=width, height=height, duration_s=duration
        )
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"wrote {out} ({truth.duration_s:.0f} s, {len(truth.events)} events) "
        f"and {out.with_suffix('.json')}"
    )


@synth_app.command("scenarios")
def synth_scenarios() -> None:
    """List the scenarios that 'synth video' can render."""
    from models.synth.scenarios import SCENARIOS

    for name, description in SCENARIOS.items():
        typer.echo(f"{name:18} {description}")


# --- training ---------------------------------------------------------------------------------
@app.command("train")
@reports_user_errors
def train_command(
    data: Annotated[Path, typer.Option(help="YOLO data.yaml (rendered or your own footage)")],
    out: Annotated[Path, typer.Option(help="where the run, the ONNX model and its card go")],
    name: Annotated[
        str, typer.Option(help="model file name (without .onnx)")
    ] = "fishwatch-yolo11n",
    architecture: Annotated[
        str, typer.Option(help="Ultralytics model YAML, or a .pt to fine-tune")
    ] = "yolo11n.yaml",
    imgsz: Annotated[int, typer.Option(help="training image size")] = 320,
    export_size: Annotated[str, typer.Option(help="exported input, HEIGHTxWIDTH")] = "320x544",
    epochs: Annotated[int, typer.Option(min=1)] = 30,
    hours: Annotated[float | None, typer.Option(help="wall-time budget instead of epochs")] = None,
    batch: Annotated[int, typer.Option(min=1)] = 16,
    seed: Annotated[int, typer.Option()] = 0,
    warmup_epochs: Annotated[
        float | None,
        typer.Option(min=0, help="learning-rate warm-up (Ultralytics: 3); fine-tuning needs less"),
    ] = None,
    rect: Annotated[
        bool,
        typer.Option(
            "--rect",
            help="whole frames at their own aspect, no mosaic (16:9 at --imgsz 416: 256x416)",
        ),
    ] = False,
) -> None:
    """Train a detector, export it to ONNX and write its model card (needs the train extra)."""
    from detector.classes import CLASS_NAMES
    from models.dataset import load_data_yaml
    from models.training import TrainingUnavailable, export_onnx, train, write_model_card

    input_hw = parse_hw(export_size)
    spec = load_data_yaml(data)  # fail fast, with a clear message, on a malformed dataset
    if list(spec.names) != list(CLASS_NAMES):
        raise fail(
            f"{data}: names must be {list(CLASS_NAMES)} in that order, got {list(spec.names)}"
        )
    recipe_file = spec.root / "recipe.json"
    recipe = json.loads(recipe_file.read_text()) if recipe_file.exists() else {"data": str(data)}
    try:
        run = train(
            data,
            out,
            architecture=architecture,
            imgsz=imgsz,
            epochs=epochs,
            hours=hours,
            batch=batch,
            seed=seed,
            warmup_epochs=warmup_epochs,
            rect=rect,
        )
        onnx_path = export_onnx(run.weights, out / f"{name}.onnx", input_hw=input_hw)
    except TrainingUnavailable as exc:
        raise fail(str(exc)) from None
    card = write_model_card(
        onnx_path,
        classes=list(CLASS_NAMES),
        input_hw=input_hw,
        architecture=architecture,
        training={
            "data": recipe,
            "imgsz": imgsz,
            "epochs": run.epochs,
            "batch": batch,
            "seed": seed,
            **({"warmup_epochs": warmup_epochs} if warmup_epochs is not None else {}),
            **({"rect": True} if rect else {}),
            "torch_threads": run.torch_threads,
            "wall_time_s": round(run.wall_time_s),
            "weights": str(run.weights),
        },
        metrics={},
    )
    typer.echo(
        f"model: {onnx_path}\ncard:  {card}\nscore it with: fishwatch eval --model "
        f"{onnx_path} --synthetic 300 --seed 424242"
    )


@app.command("export")
@reports_user_errors
def export_command(
    weights: Annotated[Path, typer.Argument(help="Ultralytics .pt checkpoint")],
    out: Annotated[Path, typer.Option(help="output .onnx path")],
    size: Annotated[str, typer.Option(help="input HEIGHTxWIDTH")] = "320x544",
) -> None:
    """Export a trained checkpoint to ONNX for the edge run time (needs the train extra)."""
    from models.training import TrainingUnavailable, export_onnx

    if not weights.is_file():
        raise fail(f"{weights}: no such file")
    try:
        typer.echo(export_onnx(weights, out, input_hw=parse_hw(size)))
    except TrainingUnavailable as exc:
        raise fail(str(exc)) from None


@app.command("quantize")
@reports_user_errors
def quantize_command(
    model: Annotated[Path, typer.Argument(help="Ultralytics ONNX export to quantise")],
    out: Annotated[
        Path | None, typer.Option(help="output .onnx path [default: MODEL-int8.onnx beside it]")
    ] = None,
    data: Annotated[Path | None, typer.Option(help="YOLO data.yaml to calibrate on")] = None,
    split: Annotated[str, typer.Option(help="dataset split")] = "train",
    synthetic: Annotated[
        int | None, typer.Option(min=1, help="calibrate on N freshly rendered images instead")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the synthetic images")] = 1,
    images: Annotated[int, typer.Option(min=1, help="calibration images at most")] = 200,
) -> None:
    """Write an int8 copy of a model for faster edge inference, with its own model card."""
    from models.evaluation import dataset_frames, synthetic_frames
    from models.quantize import QuantizationError, quantize_int8
    from models.training import TrainingUnavailable

    if (data is None) == (synthetic is None):
        raise fail("give exactly one of --data DATA.yaml or --synthetic N")
    if not model.is_file():
        raise fail(f"{model}: no such file")
    out = out or model.with_name(f"{model.stem}-int8.onnx")
    if data is not None:
        frames = dataset_frames(data, split)
        source = f"{images} images of {data} ({split})"
    else:
        assert synthetic is not None
        frames = synthetic_frames(synthetic, seed)
        images = min(images, synthetic)
        source = f"{images} synthetic images, seed {seed}"
    calibration = (frame.image for frame in itertools.islice(frames, images))
    try:
        written = quantize_int8(model, out, calibration, source=source)
    except (QuantizationError, DatasetError, TrainingUnavailable, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"model: {written}\ncard:  {written.with_suffix('.json')}\nscore it with: fishwatch "
        f"eval --model {written} --synthetic 300 --seed 424242 --update-card"
    )


@app.command("eval")
@reports_user_errors
def eval_command(
    model: Annotated[Path, typer.Option(help=".onnx (or .pt) model to score")],
    data: Annotated[Path | None, typer.Option(help="YOLO data.yaml to score on")] = None,
    split: Annotated[str, typer.Option(help="dataset split")] = "val",
    synthetic: Annotated[
        int | None, typer.Option(min=1, help="render N held-out images instead")
    ] = None,
    seed: Annotated[int, typer.Option(help="seed of the synthetic set")] = 424242,
    class_map: Annotated[str, typer.Option(help="identity or coco")] = "identity",
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    update_card: Annotated[bool, typer.Option(help="record the figures in the model card")] = False,
) -> None:
    """mAP50 and mAP50-95, overall and per class, measured with fishwatch's own ONNX run time."""
    from models.evaluation import dataset_frames, evaluate, load_for_evaluation, synthetic_frames

    if (data is None) == (synthetic is None):
        raise fail("give exactly one of --data DATA.yaml or --synthetic N")
    detector = load_for_evaluation(model, class_map)
    frames = dataset_frames(data, split) if data else synthetic_frames(synthetic, seed)
    start = time.monotonic()
    report = evaluate(detector, frames).to_dict()
    source = {"data": str(data), "split": split} if data else {"synthetic": synthetic, "seed": seed}
    if update_card:
        from detector.model_card import ModelCard

        card = ModelCard.beside(model)
        card.metrics = {**report, "evaluated_on": source}
        card.sha256 = detector.sha256  # the figures belong to exactly these bytes
        card.write(model)
    if as_json:
        typer.echo(json.dumps(report))
        return
    typer.echo(f"{model.name} on {source} ({time.monotonic() - start:.0f} s)")
    typer.echo(f"{'class':12} {'mAP50':>7} {'mAP50-95':>9} {'P':>6} {'R':>6} {'objects':>8}")
    rows = [("all", {"map50": report["map50"], "map50_95": report["map50_95"]})]
    rows += list(report["per_class"].items())
    for name, row in rows:
        cells = [_fmt(row.get(k)) for k in ("map50", "map50_95", "precision", "recall")]
        typer.echo(
            f"{name:12} {cells[0]:>7} {cells[1]:>9} {cells[2]:>6} {cells[3]:>6} "
            f"{row.get('instances', ''):>8}"
        )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


# --- edge -------------------------------------------------------------------------------------
#: ``detect`` without a config reviews a recording: faults are reported once they last 4 s (two
#: identical keyframes of a 2 s GOP after the first), since a short blackout or freeze in a clip
#: under review matters and there is no night-long flapping to guard against as on a live camera.
REVIEW_FAULTS = {"black_s": 4.0, "freeze_s": 4.0, "covered_s": 4.0, "offline_s": None}


def parse_sample(text: str) -> Any:
    """``keyframes``, ``fps:2`` or ``every:5`` → a :class:`streams.settings.SamplingConfig`."""
    from pydantic import ValidationError

    from streams.settings import SamplingConfig

    mode, _, value = text.partition(":")
    try:
        if mode == "keyframes" and not value:
            return SamplingConfig(mode="keyframes")
        if mode == "fps":
            return SamplingConfig(mode="fps", fps=float(value))
        if mode == "every":
            return SamplingConfig(mode="every_n", n=int(value))
    except (ValueError, ValidationError):
        pass
    raise typer.BadParameter(f"{text!r}: expected keyframes, fps:N (N > 0) or every:N (N >= 1)")


def _load_detector(config: Any, model: Path | None) -> Any:
    from detector.model import Detector

    settings = config.model
    return Detector(
        model or settings.path,
        class_map=settings.class_map,
        output_format=settings.output_format,
        conf_threshold=settings.conf_threshold,
        iou_threshold=settings.iou_threshold,
        intra_op_num_threads=settings.threads,
    )


def _run_until_signal(run: Callable[[Any], list[Any]]) -> list[Any]:
    """Run in this thread; the first Ctrl-C (or SIGTERM) stops cleanly, a second one at once."""
    import signal
    import threading

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        typer.echo("stopping (press Ctrl-C again to abort)", err=True)
        stop.set()
        signal.signal(signum, signal.SIG_DFL)

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return run(stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _setup_logging(level: int) -> None:
    import logging

    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@app.command("detect")
@reports_user_errors
def detect_command(
    video: Annotated[Path, typer.Argument(help="video file to analyse")],
    config: Annotated[Path | None, typer.Option(help="fishwatch.yaml: model, zones, rules")] = None,
    model: Annotated[Path | None, typer.Option(help="model file, instead of the config's")] = None,
    out: Annotated[
        Path | None, typer.Option(help="evidence folder [default: fishwatch-out/VIDEO_STEM]")
    ] = None,
    camera: Annotated[
        str | None, typer.Option(help="which of the config's cameras to take zones and rules from")
    ] = None,
    sample: Annotated[
        str, typer.Option(help="frames to analyse: keyframes, fps:N or every:N")
    ] = "fps:2",
) -> None:
    """Run the edge pipeline over one video file; print one JSON object per event as it closes.

    Frames are sampled as a live camera would be, by default two per second of video: the
    rules are tuned for 1-2 frames per second, and a weak detection (a net scored near the
    tracker's new-track threshold) gets twice the chances to start a track. Without a config
    the whole frame is one zone where every rule applies, and camera faults count from 4 s.
    The loudspeaker is never called.
    """
    import logging

    from fishwatch.config import CameraConfig, FishwatchConfig, load_config
    from fishwatch.edge import EdgeRunner, file_source
    from streams.settings import FaultConfig

    sampling = parse_sample(sample)
    settings = load_config(config) if config is not None else FishwatchConfig()
    if camera is not None and config is None:
        raise fail("--camera names a camera of --config; give both")
    if camera is not None and camera not in settings.cameras:
        raise fail(
            f"no camera {camera!r} in {config}; it has: {', '.join(settings.cameras) or 'none'}"
        )
    if camera is None and len(settings.cameras) > 1:
        raise fail(f"{config} has {len(settings.cameras)} cameras; choose one with --camera")
    chosen = settings.cameras[camera or next(iter(settings.cameras))] if settings.cameras else None
    if not video.is_file():
        raise fail(f"{video}: no such file")
    source = file_source(video, chosen.source if chosen else None, sampling)
    if chosen is None:
        source = source.model_copy(update={"faults": FaultConfig(**REVIEW_FAULTS)})
    name = camera or video.stem
    camera_config = CameraConfig(source=source, analysis=chosen.analysis if chosen else None)
    _setup_logging(logging.ERROR)
    detector = _load_detector(settings, model)
    folder = out or Path("fishwatch-out") / video.stem

    def print_closed(message: Any) -> None:
        if message.kind == "closed":
            typer.echo(json.dumps(message.document, ensure_ascii=False))

    runner = EdgeRunner(
        {name: camera_config},
        detector,
        settings.evidence,
        sink=print_closed,
        folders={name: folder},
        wall_clock=False,
        report=lambda line: typer.echo(line, err=True),
        status_interval_s=5.0,
    )
    (result,) = _run_until_signal(runner.run)
    if result.error is not None:
        raise fail(result.error)
    typer.echo(f"{video}: {result.frames} frames analysed, evidence in {folder}", err=True)


@app.command("edge")
@reports_user_errors
def edge_command(
    config: Annotated[Path, typer.Option(help="fishwatch.yaml with the cameras to watch")],
    model: Annotated[Path | None, typer.Option(help="model file, instead of the config's")] = None,
    drain_s: Annotated[float, typer.Option(
        min=0, help="once every camera has ended (video files), wait up to this many seconds "
                    "for the outbox to deliver before exiting")] = 0.0,
) -> None:
    """Watch the configured cameras until Ctrl-C (or until video files end); status on stderr.

    Events go to the centre through the outbox when the config has an ``uplink:`` section;
    without one, every event message (opened, updated, closed) is written to stdout as one JSON
    object per line.
    """
    import logging

    from fishwatch.config import load_config
    from fishwatch.edge import run_site

    settings = load_config(config)
    if not settings.cameras:
        raise fail(f"{config}: no cameras configured (add a 'cameras:' section)")
    _setup_logging(logging.INFO)
    detector = _load_detector(settings, model)
    results = _run_until_signal(
        lambda stop: run_site(
            settings,
            detector,
            stop,
            report=lambda line: typer.echo(line, err=True),
            sink=lambda message: typer.echo(json.dumps(message.document, ensure_ascii=False)),
            drain_s=drain_s,
        )
    )
    for result in results:
        if result.error is not None:
            typer.echo(f"camera {result.name}: {result.error}", err=True)


@app.command("serve")
@reports_user_errors
def serve_command(
    config: Annotated[Path, typer.Option(help="fishwatch.yaml with the centre: and dispatch: "
                                              "sections")],
    port: Annotated[int | None, typer.Option(
        min=1, max=65535, help="listen here instead of centre.port: several processes from one "
                               "config behind a reverse proxy")] = None,
) -> None:
    """Run the centre (API, device ingest, pages, deadline sweep) until Ctrl-C."""
    from dispatch.errors import ConfigurationError
    from fishwatch.config import load_config
    from fishwatch.serve import serve

    settings = load_config(config)
    if port is not None:
        settings = settings.model_copy(
            update={"centre": settings.centre.model_copy(update={"port": port})})
    try:
        serve(config, settings)
    except (ValueError, ConfigurationError) as exc:
        raise fail(f"{config}: {exc}") from None


@app.command("demo")
@reports_user_errors
def demo_command(
    folder: Annotated[Path, typer.Option(help="where the demo keeps its config, database, "
                                              "evidence and outbox")] = Path("fishwatch-demo"),
    port: Annotated[int, typer.Option(min=1, max=65535, help="the centre's port")] = 8000,
    once: Annotated[bool, typer.Option(help="process the videos as fast as possible, print a "
                                            "summary and exit")] = False,
    model: Annotated[Path | None, typer.Option(help="model file instead of the shipped one")
                     ] = None,
) -> None:
    """The whole system on this machine: the centre on SQLite, demo users, and an edge box
    whose cameras play the sample videos."""
    import logging

    from fishwatch.config import DEFAULT_MODEL
    from fishwatch.demo import run_demo

    _setup_logging(logging.WARNING)
    (summary,) = _run_until_signal(lambda stop: [run_demo(
        folder, port=port, once=once, model=(model or DEFAULT_MODEL).resolve(),
        detector_for=lambda config: _load_detector(config, None), stop=stop, echo=typer.echo)])
    typer.echo(summary.table())
