"""Camera I/O: sources, reconnection, packet ring buffer, sampling.

One concept per module: ``settings`` (per-camera config), ``source`` (one connection: demux,
sample, decode), ``sampling``, ``packets`` and ``ring`` (the encoded pre-event buffer), ``clip``
(MP4 clips by remux or encode), ``health`` (camera faults), ``slot`` (freshest-frame hand-over),
``backoff`` and ``camera`` (the per-camera thread that ties them together). Nothing is imported
here, so that the root config can import ``streams.settings`` without loading PyAV.
"""
