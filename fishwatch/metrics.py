"""Prometheus metrics of the edge box: per camera rates and skips, inference time, queue, outbox.

Camera figures are read when Prometheus scrapes (a custom collector over the runner's snapshot),
so nothing has to push them and a scrape always sees the present; inference time and events are
recorded as they happen. Each :class:`EdgeMetrics` has its own registry, so tests and several
runners in one process do not share counters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

#: Inference takes 10-80 ms per frame on a 2-core box; a slow disk or a stuck core shows above.
_INFERENCE_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5)


@dataclass(frozen=True)
class CameraFigures:
    """One camera as the metrics report it."""

    name: str
    online: bool
    input_fps: float  # video packets per second from the camera
    decoded_fps: float  # frames decoded and offered to the detector per second
    detection_fps: float  # frames the detector took per second
    frames_skipped: int  # offered frames replaced by newer ones before the detector took them


@dataclass(frozen=True)
class RunnerFigures:
    """What the runner knows at one moment."""

    cameras: Sequence[CameraFigures]
    queue_depth: int  # frames taken for the detector in the latest round
    pending_clips: int  # event clips waiting for their post-capture seconds
    outbox_size: int | None  # messages not yet delivered; None without an outbox


class _RunnerCollector(Collector):
    def __init__(self, figures: Callable[[], RunnerFigures]) -> None:
        self._figures = figures

    def collect(self) -> Iterator[Metric]:
        figures = self._figures()
        per_camera: list[tuple[GaugeMetricFamily | CounterMetricFamily, Callable[..., float]]] = [
            (
                GaugeMetricFamily(
                    "fishwatch_camera_up", "1 while the camera sends video", labels=["camera"]
                ),
                lambda c: float(c.online),
            ),
            (
                GaugeMetricFamily(
                    "fishwatch_camera_fps",
                    "video frames per second from the camera",
                    labels=["camera"],
                ),
                lambda c: c.input_fps,
            ),
            (
                GaugeMetricFamily(
                    "fishwatch_camera_decoded_fps",
                    "frames decoded for the detector per second",
                    labels=["camera"],
                ),
                lambda c: c.decoded_fps,
            ),
            (
                GaugeMetricFamily(
                    "fishwatch_camera_detection_fps",
                    "frames run through the detector per second",
                    labels=["camera"],
                ),
                lambda c: c.detection_fps,
            ),
            (
                CounterMetricFamily(
                    "fishwatch_camera_frames_skipped",
                    "decoded frames replaced by newer ones before the detector took them",
                    labels=["camera"],
                ),
                lambda c: float(c.frames_skipped),
            ),
        ]
        for family, value in per_camera:
            for camera in figures.cameras:
                family.add_metric([camera.name], value(camera))
            yield family
        yield GaugeMetricFamily(
            "fishwatch_queue_depth",
            "frames taken for the detector in its latest round",
            value=figures.queue_depth,
        )
        yield GaugeMetricFamily(
            "fishwatch_pending_clips",
            "event clips waiting for their post-capture seconds",
            value=figures.pending_clips,
        )
        if figures.outbox_size is not None:
            yield GaugeMetricFamily(
                "fishwatch_outbox_size",
                "event messages not yet delivered to the centre",
                value=figures.outbox_size,
            )


class EdgeMetrics:
    """The edge box's metrics; :meth:`serve` exposes them on ``http://ADDRESS:PORT/metrics``.

    Example:
        >>> metrics = EdgeMetrics(runner.figures)
        >>> metrics.inference.observe(0.021)
        >>> port = metrics.serve(9108)
    """

    def __init__(self, figures: Callable[[], RunnerFigures]) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_RunnerCollector(figures))
        self.inference = Histogram(
            "fishwatch_inference_seconds",
            "detector time per batch of frames",
            buckets=_INFERENCE_BUCKETS,
            registry=self.registry,
        )
        self.events = Counter(
            "fishwatch_events",
            "event records sent, by camera, type and kind",
            ["camera", "type", "kind"],
            registry=self.registry,
        )
        self._server: WSGIServer | None = None

    def serve(self, port: int, address: str = "127.0.0.1") -> int:
        """Start serving in a daemon thread; returns the port (useful with port 0)."""
        self._server, _ = start_http_server(port, address, self.registry)
        return int(self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
