"""How many 1080p25 H.264 cameras one box sustains at >= 1 detection per second each, against
Ultralytics' documented multi-stream approach on the same box.

fishwatch (the production path): N cameras read the same generated clip (1080p25 H.264, GOP 1 s,
no B-frames, 4 Mb/s: the ``angler_arrives`` scenario, its 720p sample video upscaled, so the model
detects, tracks and raises angling events) as ``streams`` file sources paced at real time and
looping, sampling keyframes; one ``fishwatch.edge.EdgeRunner`` takes the freshest frames, runs the
shipped model in one ONNX session, tracks, applies zones and rules and opens events with evidence.
The cameras start at phases spread over one GOP, as independent cameras are (``--in-step`` starts
them together, so every keyframe of a second arrives in one burst). A camera is sustained when it
analysed at least 95 % of its keyframes (>= 0.95 detections per second) in the measured window.
Latency: from the moment a frame was read from the camera to the moment its detections have been
through tracking, rules and events (p50/p95 over every analysed frame), and, for every event that
opened, from its opening frame's read to its message.

Ultralytics: the documented "Multithreaded Tracking" example (docs, modes/track): one thread per
stream, each with its own ``YOLO(model, task="detect")`` and ``model.track(source, stream=True)``
(default tracker, BoT-SORT), results consumed in a loop. Its source is the same clip served at real
time over RTSP (``benchmarks/rtsp_file_server.py``, GStreamer, no re-encoding), read over TCP; a
stream is sustained when it yields >= 0.95 results per second. It runs in a subprocess per round.
Its streams share one RTSP session, so they are in step; phases would not change its load: it
decodes every frame and infers on the newest one without pause, so keyframes cause no bursts.

Usage: python benchmarks/camera_capacity.py [--fishwatch 20 24 28] [--ultralytics 4 8 11 14]
       [--seconds 30] [--warmup 6] [--clip FILE] [--threads N] [--in-step]
Needs the train extra (ultralytics) and lap for the Ultralytics rounds, and Debian's GStreamer RTSP
server (see shared/notes/recipes.md). Measure on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "fishwatch-yolo11n.onnx"
SCENARIO = REPO / "sample_videos" / "angler_arrives.mp4"
WIDTH, HEIGHT, FPS = 1920, 1080, 25
GOP_S = 1.0  # the clip's keyframe interval
SUSTAINED_RATE = 0.95  # detections per second per camera (GOP 1 s: one keyframe a second)


def make_clip(path: Path, loops: int) -> Path:
    """The scenario clip, looped, upscaled to 1080p and encoded like a camera (GOP 1 s)."""
    import av
    import cv2

    with av.open(str(SCENARIO)) as source:
        frames = [f.to_ndarray(format="bgr24") for f in source.decode(video=0)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={
            "preset": "veryfast", "bf": "0", "g": str(FPS), "keyint_min": str(FPS),
            "sc_threshold": "0", "b": "4M", "maxrate": "4M", "bufsize": "8M"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for index in range(loops * len(frames)):
            big = cv2.resize(frames[index % len(frames)], (WIDTH, HEIGHT))
            frame = av.VideoFrame.from_ndarray(big, format="bgr24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- fishwatch ----------------------------------------------------------------------------------
def fishwatch_round(clip: Path, cameras: int, seconds: float, warmup: float,
                    in_step: bool = False, threads: int | None = None,
                    model: Path = MODEL) -> dict[str, Any]:
    from detector.model import Detector
    from fishwatch.config import CameraConfig, EdgeConfig, EvidenceConfig, ModelConfig
    from fishwatch.edge import EdgeRunner
    from streams.camera import Camera
    from streams.incidents import CameraIncidents
    from streams.settings import CameraSourceConfig

    done: list[tuple[str, float, float]] = []  # (camera, time analysed, seconds since read)
    opened: list[float] = []  # frame read -> event message, per opened event

    original = CameraIncidents.on_frame

    @functools.wraps(original)
    def timed(self: CameraIncidents, frame: Any, detections: Any) -> None:
        original(self, frame, detections)
        now = time.time()
        done.append((frame.camera, now, now - frame.wall))

    def sink(message: Any) -> None:
        if message.kind == "opened" and message.document["type"] != "camera_fault":
            read = datetime.fromisoformat(message.document["best_frame"]["wall_time"])
            opened.append(time.time() - read.timestamp())

    source = CameraSourceConfig(path=clip, loop=True, pace="realtime",
                                sample={"mode": "keyframes"})
    config = {f"cam{i:02d}": CameraConfig(source=source) for i in range(cameras)}
    # Independent cameras are not in step: start each at its own phase of the 1 s GOP, so their
    # keyframes are spread over the second as on a real site (not all in one burst).
    phase = {name: 0.0 if in_step else i * GOP_S / cameras for i, name in enumerate(config)}
    start = Camera.start

    def staggered(self: Camera) -> None:
        threading.Timer(phase[self.name], start, args=(self,)).start()

    CameraIncidents.on_frame = timed  # type: ignore[method-assign]
    Camera.start = staggered  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as folder:
            threads = threads or ModelConfig().threads
            detector = Detector(model, intra_op_num_threads=threads)
            runner = EdgeRunner(config, detector, EvidenceConfig(folder=Path(folder)),
                                sink=sink, camera_nice=EdgeConfig().camera_nice)
            stop = threading.Event()
            threading.Timer(warmup + seconds, stop.set).start()
            started = time.time()
            cpu = {}
            threading.Timer(warmup, lambda: cpu.setdefault("start", time.process_time())).start()
            runner.run(stop)
            cpu_s = time.process_time() - cpu["start"]
    finally:
        CameraIncidents.on_frame = original  # type: ignore[method-assign]
        Camera.start = start  # type: ignore[method-assign]
    window = (started + warmup, started + warmup + seconds)
    inside = [(c, lag) for c, at, lag in done if window[0] <= at < window[1]]
    rates = [sum(1 for c, _ in inside if c == name) / seconds for name in config]
    lags = [lag for _, lag in inside]
    return {
        "cameras": cameras,
        "min_rate": min(rates),
        "mean_rate": statistics.mean(rates),
        "sustained": min(rates) >= SUSTAINED_RATE,
        "p50_ms": 1000 * percentile(lags, 0.5),
        "p95_ms": 1000 * percentile(lags, 0.95),
        "events": len(opened),
        "event_p95_ms": 1000 * percentile(opened, 0.95),
        "cpu_cores": cpu_s / seconds,
    }


# --- Ultralytics --------------------------------------------------------------------------------
def ultralytics_worker(url: str, streams: int, seconds: float, warmup: float,
                       model: str) -> None:
    """The documented example, timed: prints one JSON line with each stream's results/s."""
    os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"] = "rtsp_transport;tcp"
    from ultralytics import YOLO

    times: list[list[float]] = [[] for _ in range(streams)]

    def run_tracker_in_thread(model_name: str, filename: str, index: int) -> None:
        model = YOLO(model_name, task="detect")
        results = model.track(filename, stream=True, verbose=False)
        for _ in results:
            times[index].append(time.monotonic())

    for index in range(streams):
        threading.Thread(target=run_tracker_in_thread, args=(model, url, index),
                         daemon=True).start()
    deadline = time.monotonic() + 120
    while not all(times) and time.monotonic() < deadline:  # every stream has its first result
        time.sleep(0.1)
    time.sleep(warmup)
    start, cpu = time.monotonic(), time.process_time()
    time.sleep(seconds)
    cpu_s = time.process_time() - cpu
    rates = [sum(1 for t in ts if start <= t < start + seconds) / seconds for ts in times]
    print(json.dumps({"rates": rates, "cpu_cores": cpu_s / seconds}), flush=True)
    os._exit(0)  # the trackers loop forever on a live stream


def ultralytics_round(clip: Path, streams: int, seconds: float, warmup: float,
                      model: Path = MODEL) -> dict[str, Any]:
    server = subprocess.Popen(
        ["/usr/bin/python3", str(Path(__file__).with_name("rtsp_file_server.py")), str(clip)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().split()[1])
        server_cpu = _cpu_seconds(server.pid)
        worker = subprocess.run(
            [sys.executable, __file__, "--worker", f"rtsp://127.0.0.1:{port}/cam", str(streams),
             str(seconds), str(warmup), str(model)], capture_output=True, text=True, timeout=600)
        server_cpu = _cpu_seconds(server.pid) - server_cpu
    finally:
        server.kill()
        server.wait()
    lines = [line for line in worker.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"Ultralytics worker failed:\n{worker.stderr[-2000:]}")
    result = json.loads(lines[-1])
    rates = result["rates"]
    return {"streams": streams, "min_rate": min(rates), "mean_rate": statistics.mean(rates),
            "sustained": min(rates) >= SUSTAINED_RATE, "cpu_cores": result["cpu_cores"],
            "server_cpu_s": server_cpu}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- main ---------------------------------------------------------------------------------------
def main() -> None:
    if sys.argv[1:2] == ["--worker"]:
        url, streams, seconds, warmup, model = sys.argv[2:7]
        ultralytics_worker(url, int(streams), float(seconds), float(warmup), model)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fishwatch", type=int, nargs="*", default=[20, 24, 28],
                        help="camera counts to try with the fishwatch edge runner")
    parser.add_argument("--ultralytics", type=int, nargs="*", default=[4, 8, 11, 14],
                        help="stream counts to try with Ultralytics' documented approach")
    parser.add_argument("--seconds", type=float, default=30, help="measured window per round")
    parser.add_argument("--warmup", type=float, default=6, help="seconds before measuring")
    parser.add_argument("--model", type=Path, default=MODEL,
                        help="ONNX model both sides run (default: the shipped fp32 model)")
    parser.add_argument("--clip", type=Path, help="reuse a clip made by an earlier run")
    parser.add_argument("--in-step", action="store_true",
                        help="start every fishwatch camera at once (keyframes in one burst)")
    parser.add_argument("--threads", type=int,
                        help="ONNX Runtime intra-op threads of the fishwatch detector "
                             "(default: the config's model.threads)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = args.clip
        if clip is None or not clip.exists():
            clip = clip or Path(folder) / "angler-1080p25-gop1s.mp4"
            started = time.monotonic()
            loops = max(2, int((args.seconds + args.warmup + 60) // 40) + 1)
            make_clip(clip, loops)
            print(f"clip: {clip} ({loops * 40} s, {clip.stat().st_size * 8 / loops / 40e6:.1f} "
                  f"Mb/s, made in {time.monotonic() - started:.0f} s)", flush=True)
        print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
        ours = ultra = 0
        for cameras in args.fishwatch:
            r = fishwatch_round(clip, cameras, args.seconds, args.warmup, args.in_step,
                                args.threads, args.model)
            print(f"fishwatch, {cameras} cameras: detections/s per camera min {r['min_rate']:.2f} "
                  f"mean {r['mean_rate']:.2f}; frame->events p50 {r['p50_ms']:.0f} ms, p95 "
                  f"{r['p95_ms']:.0f} ms; {r['events']} events opened, frame->event message p95 "
                  f"{r['event_p95_ms']:.0f} ms; CPU {r['cpu_cores']:.2f} cores -> "
                  f"{'sustained' if r['sustained'] else 'NOT sustained'}", flush=True)
            ours = max(ours, cameras if r["sustained"] else 0)
        for streams in args.ultralytics:
            r = ultralytics_round(clip, streams, args.seconds, args.warmup, args.model)
            print(f"Ultralytics, {streams} streams: results/s per stream min {r['min_rate']:.2f} "
                  f"mean {r['mean_rate']:.2f}; CPU {r['cpu_cores']:.2f} cores (RTSP server "
                  f"{r['server_cpu_s'] / args.seconds:.2f}) -> "
                  f"{'sustained' if r['sustained'] else 'NOT sustained'}", flush=True)
            ultra = max(ultra, streams if r["sustained"] else 0)
        print(f"sustained at >= {SUSTAINED_RATE} detections/s each: fishwatch {ours} cameras, "
              f"Ultralytics {ultra} streams" + (f" ({ours / ultra:.1f}x)" if ultra else ""))


if __name__ == "__main__":
    main()
