"""Which input size should the shipped detector use? Speed and accuracy, measured together.

Exports one checkpoint at several input sizes, then for each: the median latency of
``Detector.detect`` on a 1280x720 frame (letterbox + ONNX Runtime + decode + NMS, 2 threads, as
on the edge box) and mAP on freshly rendered held-out scenes. Needs the ``train`` extra.

    python benchmarks/detector_input_size.py runs/train/weights/best.pt --images 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from detector.model import Detector
from models.evaluation import EVAL_CONF_THRESHOLD, EVAL_MAX_DETECTIONS, evaluate, synthetic_frames
from models.synth.scene import render_still
from models.training import export_onnx

SIZES = [(320, 320), (256, 416), (288, 512), (320, 544), (352, 608), (416, 416), (384, 640)]


def latency_ms(model: Path, runs: int) -> float:
    detector = Detector(model)
    frame = render_still(np.random.default_rng(0), 1280, 720).image
    for _ in range(5):
        detector.detect([frame])
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        detector.detect([frame])
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path)
    parser.add_argument("--images", type=int, default=200, help="held-out images per size")
    parser.add_argument("--seed", type=int, default=424242)
    parser.add_argument("--runs", type=int, default=50, help="timed runs per size")
    args = parser.parse_args()
    print(f"{'input HxW':>10} {'ms/frame':>9} {'mAP50':>6} {'mAP50-95':>9} {'rod AP50':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for hw in SIZES:
            onnx_path = export_onnx(
                args.weights, Path(tmp) / f"m_{hw[0]}x{hw[1]}.onnx", input_hw=hw
            )
            ms = latency_ms(onnx_path, args.runs)
            detector = Detector(
                onnx_path, conf_threshold=EVAL_CONF_THRESHOLD, max_detections=EVAL_MAX_DETECTIONS
            )
            report = evaluate(detector, synthetic_frames(args.images, args.seed)).to_dict()
            rod = report["per_class"]["fishing_rod"]["map50"]
            print(
                f"{hw[0]:>4}x{hw[1]:<5} {ms:9.1f} {report['map50']:6.3f} {report['map50_95']:9.3f} "
                f"{rod:9.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
