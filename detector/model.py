"""Detector: load a model file once, turn BGR frames into fishwatch Detections."""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import onnxruntime as ort

from detector.class_map import COCO_NAMES, ClassMapSpec, build_class_map
from detector.detections import Detections
from detector.letterbox import preprocess
from detector.model_card import ModelCard, sha256_of
from detector.nms import nms
from detector.output_formats import Candidates, ModelFormatError, OutputFormat, resolve_format


class ModelLoadError(RuntimeError):
    """The model file is missing, unreadable or not a usable detector."""


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class _Runner(Protocol):
    """A loaded model: class names it knows of, and candidates in frame pixels."""

    output_format: OutputFormat
    input_hw: tuple[int, int]
    num_classes: int
    class_names: tuple[str, ...] | None

    def candidates(
        self, frames: Sequence[np.ndarray], conf_threshold: float, iou_threshold: float
    ) -> list[Candidates]: ...


def _metadata_names(path: Path, text: str) -> tuple[str, ...]:
    """Class names from ONNX metadata: Ultralytics/YOLOv5 write a Python dict literal."""
    try:
        names = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        names = None
    if isinstance(names, dict) and sorted(names) == list(range(len(names))):
        return tuple(str(names[i]) for i in range(len(names)))
    if isinstance(names, list | tuple):
        return tuple(str(n) for n in names)
    raise ModelLoadError(
        f"cannot load model {path}: metadata 'names' is not a class list: {text!r:.80}"
    )


class _OnnxRunner:
    """onnxruntime on CPU, tuned for several sessions sharing a small box."""

    def __init__(
        self,
        path: Path,
        *,
        output_format: str | None,
        input_size: tuple[int, int] | None,
        intra_op_num_threads: int,
        allow_spinning: bool,
        max_batch: int,
    ) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_num_threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Spinning threads burn the cores other sessions and decoders need.
        options.add_session_config_entry(
            "session.intra_op.allow_spinning", "1" if allow_spinning else "0"
        )
        options.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises untyped errors for bad files
            raise ModelLoadError(
                f"cannot load model {path}: not a readable ONNX model ({_first_line(e)})"
            ) from None
        meta = dict(self._session.get_modelmeta().custom_metadata_map)
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self._output_name = self._session.get_outputs()[0].name
        shape = model_input.shape
        if len(shape) != 4 or shape[1] != 3:
            raise ModelLoadError(f"cannot load model {path}: input {shape} is not (B, 3, H, W)")
        self.input_hw = self._input_hw(path, shape, input_size, meta)
        self._batch = shape[0] if isinstance(shape[0], int) else None
        self._max_batch = self._batch or max_batch
        self._dtype = np.float16 if model_input.type == "tensor(float16)" else np.float32
        # One real run: reveals the output shape (dynamic dims included) and warms the session.
        probe = np.zeros((self._batch or 1, 3, *self.input_hw), self._dtype)
        try:
            output_shape = self._run(probe).shape
        except Exception as e:  # onnxruntime raises untyped errors
            raise ModelLoadError(
                f"cannot load model {path}: fails on a blank input ({_first_line(e)})"
            ) from None
        try:
            self._decoder = resolve_format(output_format, output_shape, self.input_hw, meta)
        except ModelFormatError as e:
            raise ModelFormatError(f"{path}: {e}") from None
        self.output_format = self._decoder.format
        self.num_classes = self._decoder.num_classes(output_shape, self.input_hw)
        self.class_names = _metadata_names(path, meta["names"]) if "names" in meta else None
        self._spec = self._decoder.letterbox_spec(self.input_hw)

    @staticmethod
    def _input_hw(
        path: Path,
        shape: Sequence[int | str | None],
        input_size: tuple[int, int] | None,
        meta: Mapping[str, str],
    ) -> tuple[int, int]:
        """Fixed (H, W) from the graph; if dynamic, ``input_size`` or Ultralytics' imgsz."""
        h, w = shape[2], shape[3]
        if isinstance(h, int) and isinstance(w, int):
            if input_size is not None and tuple(input_size) != (h, w):
                raise ModelLoadError(
                    f"cannot load model {path}: its input is fixed at {h}x{w}, "
                    f"not input_size={tuple(input_size)}"
                )
            return h, w
        if input_size is not None:
            return int(input_size[0]), int(input_size[1])
        if "imgsz" in meta:
            size = ast.literal_eval(meta["imgsz"])
            return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        raise ModelLoadError(
            f"cannot load model {path}: its input size is dynamic; pass input_size=(height, width)"
        )

    def _run(self, batch: np.ndarray) -> np.ndarray:
        output = self._session.run([self._output_name], {self._input_name: batch})[0]
        return output.astype(np.float32, copy=False)

    def candidates(
        self, frames: Sequence[np.ndarray], conf_threshold: float, iou_threshold: float
    ) -> list[Candidates]:
        results = []
        for start in range(0, len(frames), self._max_batch):
            chunk = frames[start : start + self._max_batch]
            batch, boxes = preprocess(chunk, self._spec)
            if self._batch is not None and len(chunk) < self._batch:  # fixed batch: pad
                batch = np.concatenate(
                    [batch, np.zeros((self._batch - len(chunk), *batch.shape[1:]), batch.dtype)]
                )
            output = self._run(batch.astype(self._dtype, copy=False))[: len(chunk)]
            decoded = self._decoder.decode(output, self.input_hw, conf_threshold)
            for found, box in zip(decoded, boxes, strict=True):
                results.append(Candidates(box.to_frame(found.xyxy), found.score, found.class_id))
        return results


class _UltralyticsRunner:
    """PyTorch ``.pt`` weights through ultralytics, for development boxes with the train extra."""

    output_format = OutputFormat.ULTRALYTICS

    def __init__(self, path: Path, input_size: tuple[int, int] | None) -> None:
        try:
            from ultralytics import YOLO
        except ImportError:
            raise ModelLoadError(
                f"cannot load model {path}: .pt models need ultralytics; "
                "install the train extra (pip install 'fishwatch[train]') or export to ONNX"
            ) from None
        try:
            self._model = YOLO(str(path), task="detect")
            names = self._model.names
        except Exception as e:  # ultralytics/torch raise many kinds for bad checkpoints
            raise ModelLoadError(
                f"cannot load model {path}: not a readable Ultralytics checkpoint "
                f"({_first_line(e)})"
            ) from None
        if self._model.task != "detect":
            raise ModelLoadError(
                f"cannot load model {path}: task {self._model.task!r} is not 'detect'"
            )
        self.class_names = tuple(str(names[i]) for i in range(len(names)))
        self.num_classes = len(self.class_names)
        self.input_hw = (
            (int(input_size[0]), int(input_size[1])) if input_size is not None else (640, 640)
        )

    def candidates(
        self, frames: Sequence[np.ndarray], conf_threshold: float, iou_threshold: float
    ) -> list[Candidates]:
        results = self._model.predict(
            list(frames),
            conf=conf_threshold,
            iou=iou_threshold,
            imgsz=list(self.input_hw),
            verbose=False,
        )
        return [
            Candidates(
                r.boxes.xyxy.cpu().numpy().astype(np.float32),
                r.boxes.conf.cpu().numpy().astype(np.float32),
                r.boxes.cls.cpu().numpy().astype(np.int64),
            )
            for r in results
        ]


def _check_frame(index: int, frame: object) -> None:
    if (
        isinstance(frame, np.ndarray)
        and frame.dtype == np.uint8
        and frame.ndim == 3
        and frame.shape[2] == 3
        and frame.size
    ):
        return
    got = (
        f"shape {frame.shape} dtype {frame.dtype}"
        if isinstance(frame, np.ndarray)
        else type(frame).__name__
    )
    raise ValueError(f"frame {index} must be an HxWx3 uint8 BGR array, got {got}")


class Detector:
    """A YOLO-family detector from an ``.onnx`` (run time) or ``.pt`` (train extra) file.

    Output format, input size and class names are read from the file where it carries them,
    so one config line (path + class map) is enough for Ultralytics exports and YOLOX.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        class_map: ClassMapSpec = "identity",
        output_format: str | None = None,
        input_size: tuple[int, int] | None = None,
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.45,
        max_detections: int = 100,
        intra_op_num_threads: int = 2,
        allow_spinning: bool = False,
        max_batch: int = 8,
    ) -> None:
        if not 0 <= conf_threshold <= 1 or not 0 <= iou_threshold <= 1:
            raise ValueError("conf_threshold and iou_threshold must be within 0..1")
        if max_detections < 1 or max_batch < 1 or intra_op_num_threads < 0:
            raise ValueError("max_detections and max_batch must be >= 1, threads >= 0")
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_detections = max_detections
        self._path = Path(path)
        if not self._path.is_file():
            raise ModelLoadError(f"cannot load model {self._path}: no such file")
        try:
            card = ModelCard.beside(self._path)
        except ValueError as e:
            raise ModelLoadError(f"cannot load model {self._path}: {e}") from None
        self._runner: _Runner
        if self._path.suffix == ".onnx":
            self._runner = _OnnxRunner(
                self._path,
                output_format=output_format,
                input_size=input_size,
                intra_op_num_threads=intra_op_num_threads,
                allow_spinning=allow_spinning,
                max_batch=max_batch,
            )
        elif self._path.suffix == ".pt":
            self._runner = _UltralyticsRunner(self._path, input_size)
        else:
            raise ModelLoadError(
                f"cannot load model {self._path}: unsupported file type, use .onnx or .pt"
            )
        self._class_names = self._resolve_names(card)
        self._class_map = build_class_map(class_map, self._class_names)
        self._sha256 = sha256_of(self._path)
        self._name = card.name or self._path.stem
        self._version = card.version or self._sha256[:12]

    def _resolve_names(self, card: ModelCard) -> tuple[str, ...]:
        runner = self._runner
        names = runner.class_names or (tuple(card.classes) if card.classes else None)
        if (
            names is None
            and runner.output_format is OutputFormat.YOLOX
            and runner.num_classes == 80
        ):
            names = COCO_NAMES  # official YOLOX releases are COCO models without metadata
        if names is None:
            raise ModelLoadError(
                f"cannot load model {self._path}: no class names in its metadata; add a model "
                f"card {self._path.with_suffix('.json').name} with a 'classes' list"
            )
        if len(names) != runner.num_classes:
            raise ModelLoadError(
                f"cannot load model {self._path}: it outputs {runner.num_classes} classes "
                f"but names {len(names)}"
            )
        return names

    @property
    def name(self) -> str:
        """Model card name, else the file stem."""
        return self._name

    @property
    def version(self) -> str:
        """Model card version, else the first 12 hex digits of the file's sha256."""
        return self._version

    @property
    def sha256(self) -> str:
        """sha256 of the model file, computed once at load: which exact weights made an event."""
        return self._sha256

    @property
    def output_format(self) -> OutputFormat:
        return self._runner.output_format

    @property
    def input_hw(self) -> tuple[int, int]:
        """Model input (height, width) that frames are letterboxed to."""
        return self._runner.input_hw

    @property
    def class_names(self) -> tuple[str, ...]:
        """The model's own class names (before the class map)."""
        return self._class_names

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        """Detections (fishwatch classes, frame pixels) for each BGR uint8 frame, in order."""
        frames = list(frames)
        for i, frame in enumerate(frames):
            _check_frame(i, frame)
        if not frames:
            return []
        found = self._runner.candidates(frames, self.conf_threshold, self.iou_threshold)
        results = []
        for c in found:
            class_id = self._class_map.apply(c.class_id)
            mapped = class_id >= 0  # drop classes fishwatch does not care about before NMS
            xyxy, score, class_id = c.xyxy[mapped], c.score[mapped], class_id[mapped]
            keep = nms(xyxy, score, class_id, self.iou_threshold, self.max_detections)
            results.append(Detections(xyxy[keep], score[keep], class_id[keep]))
        return results
