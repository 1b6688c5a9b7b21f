"""How many 1080p25 H.264 cameras one process keeps up with when sampling keyframes.

Each simulated camera is the production path: ``streams.source.Source`` demuxing a looping file
into a ``PacketRing`` and decoding only keyframes to BGR. Three measurements:

1. CPU ms per video-second of one stream read as fast as possible (keyframes, and every frame
   decoded with every 25th converted — what ``every_n`` costs on H.264 — for comparison);
2. throughput with one such reader per core: video-seconds per wall-second = streams estimate;
3. real-time checks: N cameras paced at 25 fps for a while, each of which must keep up (never
   more than 1 s behind the wall clock); N is searched from 80 % of the estimate.

Usage: python benchmarks/decode_bench.py [--seconds 12] [--check-s 15] [--streams N | --rounds 5]
The test clip (1080p25, GOP 50, no B-frames, ~4 Mb/s, moving pattern with noise) is made with
PyAV in a temporary folder. Run it on an otherwise idle machine: numbers drift with load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

import av
import numpy as np

from streams.packets import EncodedPacket
from streams.ring import PacketRing
from streams.settings import CameraSourceConfig
from streams.source import Source

WIDTH, HEIGHT, FPS, GOP = 1920, 1080, 25, 50


def make_clip(path: Path, seconds: int) -> Path:
    """A camera-like 1080p25 H.264 file: moving texture and boxes, sensor-like noise, 4 Mb/s.

    ``veryfast`` keeps CABAC and the high profile, as camera encoders use: ``ultrafast`` streams
    decode about twice as fast and would flatter the numbers.
    """
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    texture = np.stack([(x // 3) % 160, (y // 2) % 160, ((x + y) // 5) % 160], -1).astype(np.int16)
    texture += (((x // 64 + y // 64) % 2) * 60)[..., None].astype(np.int16)
    noise = [rng.integers(-4, 5, (HEIGHT, WIDTH, 3), dtype=np.int16) for _ in range(5)]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS, options={
            "preset": "veryfast", "bf": "0", "g": str(GOP), "keyint_min": str(GOP),
            "sc_threshold": "0", "b": "4M", "maxrate": "4M", "bufsize": "8M"})
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for i in range(seconds * FPS):
            image = np.roll(texture, 6 * i, axis=1) + noise[i % len(noise)]
            for k in range(3):
                left = (i * (8 + 5 * k) + 400 * k) % (WIDTH - 200)
                image[200 + 250 * k:350 + 250 * k, left:left + 200] = 230 - 60 * k
            frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8),
                                               format="bgr24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def config(clip: Path, pace: str, sample: dict[str, object]) -> CameraSourceConfig:
    return CameraSourceConfig(path=clip, loop=True, pace=pace, sample=sample)


class Reader(threading.Thread):
    """One simulated camera: Source + PacketRing, until ``video_s`` of video is read."""

    def __init__(self, clip: Path, pace: str, sample: dict[str, object], video_s: float,
                 delay: float = 0.0) -> None:
        super().__init__(daemon=True)
        self.source = Source(config(clip, pace, sample), on_packet=self._packet)
        self.ring = PacketRing(seconds=10, max_bytes=64 << 20)
        self.video_s, self.delay = video_s, delay
        self.reached = 0.0      # timeline seconds of the newest packet
        self.started = 0.0
        self.max_lag = 0.0      # how far behind the wall clock it ever was (paced runs)
        self.frames = 0

    def _packet(self, packet: EncodedPacket) -> None:
        self.ring.append(packet)
        self.reached = packet.time
        if self.source.config.pace == "realtime":
            self.max_lag = max(self.max_lag, time.monotonic() - self.started - self.reached)

    def run(self) -> None:
        time.sleep(self.delay)
        with self.source:
            self.started = time.monotonic()
            for _ in self.source.frames():
                self.frames += 1
                if self.reached >= self.video_s:
                    break


def run_readers(clip: Path, count: int, pace: str, sample: dict[str, object],
                video_s: float) -> tuple[float, float, list[Reader]]:
    """Run ``count`` readers together; returns (wall seconds, CPU seconds, readers).

    Paced readers start spread over one GOP, as independent cameras' keyframes are: started
    together, every keyframe of every camera would arrive in the same instant.
    """
    gop_s = GOP / FPS
    readers = [Reader(clip, pace, sample, video_s, gop_s * i / count if pace == "realtime" else 0)
               for i in range(count)]
    cpu, wall = time.process_time(), time.monotonic()
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    return time.monotonic() - wall, time.process_time() - cpu, readers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=12, help="length of the generated clip")
    parser.add_argument("--video-s", type=float, default=60, help="video read per fast run")
    parser.add_argument("--check-s", type=float, default=15, help="length of the real-time check")
    parser.add_argument("--streams", type=int, help="cameras in one real-time check "
                                                      "(default: search from 80%% of the estimate)")
    parser.add_argument("--rounds", type=int, default=5, help="real-time checks in the search")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    keyframes = {"mode": "keyframes"}
    every_n = {"mode": "every_n", "n": 25}
    with tempfile.TemporaryDirectory() as folder:
        started = time.monotonic()
        clip = make_clip(Path(folder) / "bench-1080p25.mp4", args.seconds)
        size_mbit = clip.stat().st_size * 8 / 1e6
        print(f"clip: 1080p25 H.264 GOP {GOP}, {args.seconds} s, {size_mbit / args.seconds:.1f} "
              f"Mb/s (made in {time.monotonic() - started:.0f} s); {cores} cores; "
              f"load average {os.getloadavg()[0]:.2f}")

        for name, sample in (("keyframes", keyframes), ("every_n n=25", every_n)):
            wall, cpu, _ = run_readers(clip, 1, "fast", sample, args.video_s)
            print(f"one stream, {name:>12}: {1000 * cpu / args.video_s:6.1f} CPU ms per "
                  f"video-second, {args.video_s / wall:5.1f}x real time")

        wall, cpu, _ = run_readers(clip, cores, "fast", keyframes, args.video_s)
        throughput = cores * args.video_s / wall
        print(f"{cores} streams at once, keyframes: {throughput:.1f} video-s per wall-s "
              f"({1000 * cpu / (cores * args.video_s):.1f} CPU ms per video-second) "
              f"-> estimate {int(throughput)} streams")

        count = args.streams or max(1, int(0.8 * throughput))
        sustained, failed = 0, None  # most streams that kept up, fewest that did not
        for _ in range(1 if args.streams else args.rounds):
            _, cpu, readers = run_readers(clip, count, "realtime", keyframes, args.check_s)
            lag = max(r.max_lag for r in readers)
            kept_up = lag < 1.0
            print(f"real time, {count} streams for {args.check_s:.0f} s: max lag {lag:.2f} s, "
                  f"CPU {100 * cpu / args.check_s / cores:.0f}% of {cores} cores, "
                  f"{1000 * cpu / (count * args.check_s):.1f} CPU ms per video-second -> "
                  f"{'kept up' if kept_up else 'FELL BEHIND'}")
            if kept_up:
                sustained = max(sustained, count)
            else:
                failed = count if failed is None else min(failed, count)
            if failed is None:
                count = int(count * 1.25) + 1
            elif failed - sustained <= max(2, sustained // 10):
                break
            else:
                count = (sustained + failed) // 2 if sustained else max(1, int(failed * 0.7))
        print(f"sustained: {sustained} streams of 1080p25 H.264 in one process (keyframe "
              f"sampling, lag < 1 s)" + (f"; {failed} fell behind" if failed else ""))


if __name__ == "__main__":
    main()
