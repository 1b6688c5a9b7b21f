"""Camera threads give way to the detector: their nice value goes up, the process's does not."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from streams.priority import lower_thread_priority

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread nice")


@linux_only
def test_only_the_calling_thread_is_lowered() -> None:
    before = os.getpriority(os.PRIO_PROCESS, 0)
    seen: dict[str, int] = {}

    def camera_thread() -> None:
        seen["lowered"] = lower_thread_priority(5)
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=camera_thread)
    thread.start()
    thread.join()
    assert seen == {"lowered": True, "nice": min(19, before + 5)}
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the main thread keeps its priority


def test_no_increment_changes_nothing() -> None:
    assert lower_thread_priority(0) is False
