"""CPU priority of the calling thread: decoding yields to the detector when cores are short.

On a 2-core box the cameras' decoding and the one detector compete for the same cores. The
detector is the serial stage (every camera's frame waits for it), while a camera has a whole
keyframe interval to decode its next keyframe; so camera threads run at a lower priority and
decode in the detector's gaps instead of stretching every inference. Linux gives each thread
its own nice value; elsewhere this does nothing.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)


def lower_thread_priority(increment: int) -> bool:
    """Raise the calling thread's nice value by ``increment``; False where that is not possible.

    Example:
        >>> lower_thread_priority(10)   # in a camera thread: decode when the detector is idle
        True
    """
    if increment <= 0 or not sys.platform.startswith("linux"):
        return False  # elsewhere a thread id given to setpriority would name a process
    thread = threading.get_native_id()
    try:
        current = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, current + increment))
    except OSError as exc:  # e.g. a seccomp profile that forbids it
        log.debug("cannot lower thread priority: %s", exc)
        return False
    return True
