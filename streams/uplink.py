"""The uplink: a thread that delivers the outbox's messages to the centre, each exactly once.

Exactly once is at-least-once sending plus the centre's deduplication: a message is marked sent
only after a 2xx answer, so a crash, a reboot or a lost answer means it goes again with the same
``Idempotency-Key`` and the centre answers ``duplicate``. The contract is in ``docs/uplink.md``.

What a failed attempt means decides what happens next:

* it may pass (no connection, timeout, 5xx, 408, 409, 425, 429, 404/405 while the centre is
  being deployed, a redirect): the message waits with exponential backoff and jitter, and so
  does the whole box, so a centre that is down for hours sees one attempt per ``backoff_max_s``
  rather than one per message; ``Retry-After`` is respected. When the centre as a whole was
  failing, the first message through makes all waiting ones due, and the backlog drains in
  order;
* the message cannot succeed as it is (any other 4xx, an evidence file missing or changed): it
  is parked with the reason for an operator, and the others go on;
* the centre refuses the token (401): nothing is sent until the token changes (``token_file``
  is read on every attempt) or ``auth_retry_s`` has passed.

Heartbeats say that the box is alive; only the latest matters, so they are never queued.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import IO, Any

import httpx

from streams.backoff import Backoff
from streams.outbox import Message, Outbox, StoredAttachment
from streams.uplink_settings import TokenError, UplinkSettings

log = logging.getLogger(__name__)

EVENTS_PATH = "/api/v1/ingest/events"
HEARTBEAT_PATH = "/api/v1/ingest/heartbeat"

#: Answers (besides 5xx) that may succeed later: the centre is busy, being deployed, or still
#: working on an earlier copy of the same message (409, as the Idempotency-Key draft has it).
RETRY_STATUSES = frozenset({404, 405, 408, 409, 425, 429})
#: Answers that say the centre as a whole is not taking messages now, whichever is sent.
OUTAGE_STATUSES = frozenset({404, 405, 429, 502, 503, 504})
#: The longest ``Retry-After`` obeyed; a larger one is taken as this.
RETRY_AFTER_MAX_S = 3600.0
#: How often delivered messages past their retention are deleted.
PRUNE_INTERVAL_S = 3600.0

_CHUNK = 1 << 20


@cache
def software_version() -> str:
    """The installed fishwatch version, for heartbeats and the User-Agent."""
    try:
        return version("fishwatch")
    except PackageNotFoundError:
        return "unknown"


class Delivery(StrEnum):
    """What became of one attempt to send a message."""

    SENT = "sent"                  # 2xx: the centre has it
    RETRY = "retry"                # may pass: tried again later
    PARKED = "parked"              # cannot succeed as it is: kept for an operator
    UNAUTHORIZED = "unauthorized"  # 401: the box pauses


@dataclass(frozen=True)
class Attempt:
    """One message's attempt: what became of it, the centre's result or the error."""

    message_id: int
    idempotency_key: str
    delivery: Delivery
    detail: str          # "created"/"duplicate" when sent, else the error
    retry_in: float | None = None


@dataclass(frozen=True)
class _Result:
    delivery: Delivery
    detail: str
    retry_after: float = 0.0  # the centre's Retry-After, seconds
    outage: bool = False      # the centre as a whole failed, not this message


@dataclass(frozen=True)
class CameraReport:
    """One camera's line in a heartbeat."""

    name: str
    state: str                          # a ``streams.camera.CameraState`` value
    fps: float | None = None            # frames per second arriving now
    last_frame_at: datetime | None = None


@dataclass(frozen=True)
class Heartbeat:
    """What the box says about itself; the device id and the time are added when sending."""

    model_name: str
    model_version: str
    cameras: tuple[CameraReport, ...]
    software_version: str = field(default_factory=software_version)

    def document(self, device_id: str, sent_at: datetime) -> dict[str, Any]:
        """The JSON body of ``POST /api/v1/ingest/heartbeat``."""
        return {
            "device_id": device_id,
            "sent_at": _utc(sent_at),
            "software_version": self.software_version,
            "model": {"name": self.model_name, "version": self.model_version},
            "cameras": [{"name": c.name, "state": c.state, "fps": c.fps,
                         "last_frame_at": _utc(c.last_frame_at)} for c in self.cameras],
        }


def send_heartbeat(client: httpx.Client, settings: UplinkSettings,
                   heartbeat: Heartbeat) -> str | None:
    """POST one heartbeat; returns None when the centre took it, else why not.

    Nothing is retried: the next heartbeat supersedes this one.
    """
    try:
        response = client.post(
            settings.endpoint(HEARTBEAT_PATH),
            json=heartbeat.document(settings.device_id, datetime.now(UTC)),
            headers=_headers(settings.device_token()))
    except (TokenError, httpx.HTTPError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if not response.is_success:
        return _http_error(response)
    return None


class UplinkLockedError(RuntimeError):
    """Another uplink is already sending from this outbox."""


class Uplink:
    """Sends the outbox's due messages in order, one at a time, in a thread of its own.

    Args:
        settings: centre, device, token and timing.
        outbox: where the messages wait; the uplink does not close it.
        heartbeat: called every ``heartbeat_interval_s`` for the heartbeat to send; None: none.
        client: HTTP client to use (default: one of its own with the configured timeouts).
        rng: source of jitter (tests pass a seeded one).

    Example:
        >>> uplink = Uplink(settings, outbox)
        >>> uplink.start()
        >>> outbox.add(event, [Attachment("snapshot", jpeg)]); uplink.notify()
        >>> uplink.stop()
    """

    def __init__(self, settings: UplinkSettings, outbox: Outbox, *,
                 heartbeat: Callable[[], Heartbeat] | None = None,
                 client: httpx.Client | None = None, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.outbox = outbox
        self._heartbeat = heartbeat
        self._own_client = client is None
        self.client = client or httpx.Client(timeout=httpx.Timeout(
            settings.timeout_s, connect=settings.connect_timeout_s))
        self._rng = rng or random.Random()
        self._gate = Backoff(settings.backoff_min_s, settings.backoff_max_s, self._rng)
        self._gate_until = 0.0   # monotonic: no message goes before this (the centre is failing)
        self._outage = False     # the last attempt found the centre unreachable or overloaded
        self._paused: str | None = None
        self._paused_token: str | None = None
        self._paused_until = 0.0
        self._heartbeat_due = 0.0
        self._heartbeat_error: str | None = None
        self._prune_due = 0.0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_fd: int | None = None

    # --- life cycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start sending in a thread of its own (once: a stopped uplink is not restarted).

        Raises:
            UplinkLockedError: another uplink (in this or another process) sends from this
                outbox; two senders would only send everything twice.
        """
        if self._thread is not None or self._stop.is_set():
            raise RuntimeError("an uplink starts once; make a new one")
        lock_path = self.outbox.path.with_name(self.outbox.path.name + ".sender.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise UplinkLockedError(f"another uplink is sending from {self.outbox.path}") from None
        self._lock_fd = fd
        self._thread = threading.Thread(target=self._run, name="uplink", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the attempt in progress, if any (``timeout``: wait at most this long)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("uplink: an attempt is still in progress; leaving it to finish")
                return
            self._thread = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None
        if self._own_client:
            self.client.close()

    def notify(self) -> None:
        """Look for due messages now (call after adding one)."""
        self._wake.set()

    @property
    def paused(self) -> str | None:
        """Why sending is paused (the token), or None."""
        return self._paused

    def resume(self) -> None:
        """End a pause now, for an operator who fixed the token or the centre's device list."""
        self._paused = None
        self._wake.set()

    # --- sending --------------------------------------------------------------------------
    def send_next(self) -> Attempt | None:
        """Send the oldest due message, if any, and record what became of it.

        While the centre is unreachable the oldest waiting message goes whenever the box-wide
        wait allows, whatever its own wait; once one gets through, all are due again, so a
        backlog drains in the order it was added.

        Raises:
            TokenError: there is no token to send with.
        """
        token = self.settings.device_token()
        message = self.outbox.next_due(now=math.inf if self._outage else None,
                                       max_wait=max(self.settings.backoff_max_s,
                                                    RETRY_AFTER_MAX_S))
        if message is None:
            return None
        return self._record(message, self._attempt(message, token))

    def _attempt(self, message: Message, token: str) -> _Result:
        """POST the message; what became of it, judged from the answer or the error."""
        with ExitStack() as files:
            parts: list[tuple[str, tuple[str | None, Any, str]]] = [
                ("event", (None, self._event_part(message), "application/json"))]
            for item in message.evidence:
                try:
                    handle = files.enter_context(open(item.path, "rb"))
                    _verify(handle, item)
                except (OSError, ValueError) as exc:
                    return _Result(Delivery.PARKED, f"evidence {item.kind} {item.path}: {exc}")
                parts.append((item.kind, (item.filename, handle, item.content_type)))
            try:
                response = self.client.post(
                    self.settings.endpoint(EVENTS_PATH), files=parts,
                    headers={**_headers(token), "Idempotency-Key": message.idempotency_key})
            except (httpx.TransportError, OSError) as exc:
                return _Result(Delivery.RETRY, f"{type(exc).__name__}: {exc}", outage=True)
        status = response.status_code
        if response.is_success:
            return _Result(Delivery.SENT, _result(response))
        if status == 401:
            return _Result(Delivery.UNAUTHORIZED, _http_error(response))
        if response.is_redirect:
            return _Result(Delivery.RETRY, f"{_http_error(response)} to "
                           f"{response.headers.get('location')}: check centre_url", outage=True)
        if status in RETRY_STATUSES or status >= 500:
            return _Result(Delivery.RETRY, _http_error(response), _retry_after(response),
                           outage=status in OUTAGE_STATUSES)
        return _Result(Delivery.PARKED, _http_error(response))

    def _event_part(self, message: Message) -> bytes:
        document = {"device_id": self.settings.device_id, **json.loads(message.payload)}
        return json.dumps(document, separators=(",", ":")).encode()

    def _record(self, message: Message, result: _Result) -> Attempt:
        key, detail = message.idempotency_key, result.detail
        retry_in = None
        if result.delivery is Delivery.SENT:
            self.outbox.mark_sent(message.id, result=detail)
            self._gate.reset()
            self._gate_until = 0.0
            log.info("uplink: %s sent (%s)", key, detail)
            if self._outage:
                self._outage = False
                log.info("uplink: the centre is back; %d waiting messages are due",
                         self.outbox.expedite())
        elif result.delivery is Delivery.RETRY:
            # The message waits its own backoff, so one that keeps failing does not hold up
            # the rest; the whole box waits too, as a failing centre fails every message.
            retry_in = max(self._delay(message.attempts + 1), result.retry_after)
            self.outbox.retry_later(message.id, delay=retry_in, error=detail)
            self._gate_until = time.monotonic() + max(self._gate.next(), result.retry_after)
            self._outage = result.outage
            log.warning("uplink: %s failed (attempt %d), retrying in %.1f s: %s", key,
                        message.attempts + 1, retry_in, detail)
        elif result.delivery is Delivery.PARKED:
            self.outbox.park(message.id, error=detail)
            log.error("uplink: %s parked for an operator: %s", key, detail)
        else:
            self.outbox.retry_later(message.id, delay=0.0, error=detail)
            self._pause(f"the centre refused the device token ({detail})", self._token_or_none())
        return Attempt(message.id, key, result.delivery, detail, retry_in)

    def _delay(self, attempts: int) -> float:
        """A message's wait after its ``attempts``-th failed attempt."""
        backoff = Backoff(self.settings.backoff_min_s, self.settings.backoff_max_s, self._rng)
        backoff.attempts = attempts - 1
        return backoff.next()

    # --- pausing --------------------------------------------------------------------------
    def _pause(self, reason: str, token: str | None) -> None:
        if self._paused is None:
            log.error("uplink: paused: %s; waiting for a new token or %.0f s", reason,
                      self.settings.auth_retry_s)
        self._paused = reason
        self._paused_token = token
        self._paused_until = time.monotonic() + self.settings.auth_retry_s

    def _still_paused(self) -> bool:
        if self._paused is None:
            return False
        token = self._token_or_none()
        if (token is not None and token != self._paused_token) or \
                time.monotonic() >= self._paused_until:
            log.info("uplink: resuming (%s)", "new token" if token != self._paused_token
                     else "trying the token again")
            self._paused = None
            return False
        return True

    def _token_or_none(self) -> str | None:
        try:
            return self.settings.device_token()
        except TokenError:
            return None

    # --- the thread -----------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self._step()
            except Exception:  # a full disk or a bug must not end delivery for good
                log.exception("uplink: unexpected error; trying again")
                self._gate_until = time.monotonic() + self._gate.next()
                wait = self.settings.poll_s
            self._wake.wait(wait)
            self._wake.clear()

    def _step(self) -> float:
        """Do what is due; returns how long to sleep unless woken."""
        now = time.monotonic()
        if self._heartbeat is not None and now >= self._heartbeat_due:
            self._heartbeat_due = now + self.settings.heartbeat_interval_s
            self._send_heartbeat(self._heartbeat())
        if now >= self._prune_due:
            self._prune_due = now + PRUNE_INTERVAL_S
            pruned = self.outbox.prune(time.time() - self.settings.retention_days * 86_400)
            if pruned:
                log.info("uplink: pruned %d delivered messages", pruned)
        poll = self.settings.poll_s
        if self._still_paused():
            return poll
        if now < self._gate_until:
            return min(self._gate_until - now, poll)
        try:
            attempt = self.send_next()
        except TokenError as exc:
            self._pause(str(exc), None)
            return poll
        if attempt is None:
            wakeup = self.outbox.next_wakeup()
            return poll if wakeup is None else min(max(wakeup - time.time(), 0.0), poll)
        if attempt.delivery is Delivery.RETRY:
            return min(self._gate_until - time.monotonic(), poll)
        return 0.0

    def _send_heartbeat(self, heartbeat: Heartbeat) -> None:
        error = send_heartbeat(self.client, self.settings, heartbeat)
        if error != self._heartbeat_error:
            if error is None:
                log.info("uplink: heartbeats reach the centre again")
            else:
                log.warning("uplink: heartbeat failed: %s", error)
        self._heartbeat_error = error


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}",
            "User-Agent": f"fishwatch/{software_version()}"}


def _verify(handle: IO[bytes], item: StoredAttachment) -> None:
    """Check that the file still is what the message says it is."""
    size = os.fstat(handle.fileno()).st_size
    if size != item.size:
        raise ValueError(f"size is {size} bytes, the message says {item.size}")
    digest = hashlib.sha256()
    while chunk := handle.read(_CHUNK):
        digest.update(chunk)
    if digest.hexdigest() != item.sha256:
        raise ValueError(f"sha256 is {digest.hexdigest()}, the message says {item.sha256}")
    handle.seek(0)


def _result(response: httpx.Response) -> str:
    """``created`` or ``duplicate`` as the centre says; its status code otherwise."""
    try:
        status = response.json().get("status")
    except (ValueError, AttributeError):
        status = None
    if isinstance(status, str) and status:
        return status[:40]
    return "created" if response.status_code == 201 else f"http {response.status_code}"


def _http_error(response: httpx.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return f"HTTP {response.status_code} {response.reason_phrase}" + (f": {text}" if text else "")


def _retry_after(response: httpx.Response) -> float:
    """Seconds the centre asked us to wait (``Retry-After``: seconds or an HTTP date), or 0."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds()
        except (TypeError, ValueError):
            return 0.0
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)


def _utc(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

