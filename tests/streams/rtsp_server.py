"""A live H.264 RTSP test camera (GStreamer), run by the tests with Debian's /usr/bin/python3.

Usage: rtsp_server.py PORT — serves rtsp://127.0.0.1:PORT/cam (PORT 0: a free one) and prints
``READY <port>`` once it listens. Needs gir1.2-gst-rtsp-server-1.0 and the GStreamer plugin
packages (x264enc is in -ugly); exits with status 3 and a message when they are missing.
"""

import sys

try:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer
except (ImportError, ValueError) as exc:
    print(f"MISSING GStreamer RTSP server bindings: {exc}", flush=True)
    sys.exit(3)

# 15 fps, a keyframe every second, one slice per frame (multi-slice keyframes arrive as two
# packets with the same timestamp), SPS/PPS only in the SDP.
LAUNCH = (
    "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,framerate=15/1"
    " ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bframes=0 threads=1"
    " ! h264parse name=parse ! rtph264pay name=pay0 pt=96 config-interval=0 )"
)


def main() -> None:
    Gst.init(None)
    for element in ("videotestsrc", "x264enc", "h264parse", "rtph264pay"):
        if Gst.ElementFactory.find(element) is None:
            print(f"MISSING GStreamer element {element}", flush=True)
            sys.exit(3)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(sys.argv[1] if len(sys.argv) > 1 else "0")
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(LAUNCH)
    factory.set_shared(True)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:  # no exception when the port is taken
        print(f"BUSY port {sys.argv[1:]}", flush=True)
        sys.exit(4)
    print(f"READY {server.get_bound_port()}", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
