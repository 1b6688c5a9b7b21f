"""Camera I/O: sources, reconnection, packet ring buffer, sampling."""
