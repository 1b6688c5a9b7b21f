"""The edge runner under load: N cameras, one detector, freshest frames; batch 1 against batch 4.

Each camera is a sample clip (720p25 H.264, 2 s GOP) looping at real time, sampled as
configured; one :class:`fishwatch.edge.EdgeRunner` runs them all through one ONNX session for
a fixed time. Per setting it reports the frames analysed per second over all cameras, the share
of decoded frames skipped because the detector was busy, the median inference time per frame,
and the CPU time the process used per wall second.

Usage: python benchmarks/edge_bench.py --model data/dev-model/fishwatch-dev.onnx
       [--cameras 4] [--seconds 30] [--sample fps:2] [--batches 1 4]
Run it on an otherwise idle machine: numbers drift with load.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from detector.model import Detector
from fishwatch.cli import parse_sample
from fishwatch.config import CameraConfig, EvidenceConfig
from fishwatch.edge import EdgeRunner
from streams.settings import CameraSourceConfig

CLIP = Path(__file__).resolve().parents[1] / "sample_videos" / "passers_by.mp4"


def measure(detector: Detector, cameras: int, seconds: float, sample: str, batch: int) -> str:
    sampling = parse_sample(sample)
    config = {
        f"cam{i}": CameraConfig(source=CameraSourceConfig(path=CLIP, loop=True, sample=sampling))
        for i in range(cameras)
    }
    with tempfile.TemporaryDirectory() as folder:
        runner = EdgeRunner(
            config,
            detector,
            EvidenceConfig(folder=Path(folder)),
            sink=lambda m: None,
            max_batch=batch,
        )
        stop = threading.Event()
        timer = threading.Timer(seconds, stop.set)
        cpu, wall = time.process_time(), time.monotonic()
        timer.start()
        results = runner.run(stop)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        figures = runner.figures()
        latency = runner.metrics.inference.collect()[0].samples
    analysed = sum(r.frames for r in results)
    skipped = sum(c.frames_skipped for c in figures.cameras)
    total = {s.name: s.value for s in latency}
    per_call_ms = (
        1000
        * total["fishwatch_inference_seconds_sum"]
        / max(total["fishwatch_inference_seconds_count"], 1)
    )
    per_frame_ms = per_call_ms * total["fishwatch_inference_seconds_count"] / max(analysed, 1)
    return (
        f"{cameras} cameras, {sample}, batch {batch}: {analysed / wall:5.1f} frames/s analysed, "
        f"{skipped / max(analysed + skipped, 1):4.0%} skipped, {per_frame_ms:5.1f} ms/frame "
        f"inference, CPU {cpu / wall:4.2f} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--sample", default="fps:2")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    detector = Detector(args.model)
    lines: dict[int, list[str]] = {b: [] for b in args.batches}
    for _ in range(args.rounds):
        for batch in args.batches:  # interleaved, so drift hits every setting alike
            lines[batch].append(measure(detector, args.cameras, args.seconds, args.sample, batch))
    for batch in args.batches:
        for line in lines[batch]:
            print(line)


if __name__ == "__main__":
    main()
