"""Serves one H.264 MP4 file as a live RTSP camera, for benchmarks that need a real-time stream.

Run with Debian's /usr/bin/python3 (GStreamer bindings): ``rtsp_file_server.py FILE`` serves
rtsp://127.0.0.1:PORT/cam at the file's own pace, without re-encoding, one shared stream for all
clients, and prints ``READY <port>``. The stream starts from the beginning when its first client
connects and ends with the file (make the file longer than the run).
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f"( filesrc location={sys.argv[1]} ! qtdemux ! h264parse name=parse"
        " ! rtph264pay name=pay0 pt=96 config-interval=-1 )"
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        sys.exit("cannot listen")
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
