"""Loudspeaker warning (喊话驱离): a per-camera action fired when an event opens.

Many riverbank posts have an IP loudspeaker that plays a recorded warning on an HTTP request, or a
local player attached to the box. The action is either an HTTP call or a local command, both with
a timeout, the command without a shell (arguments are passed as a list, so an event's fields can
never be run as shell syntax). Text in the body or the arguments may name the event's fields as
``{camera}``, ``{type}``, ``{zone}`` and ``{id}``.

Calls run on a worker thread of their own: a speaker that hangs for its whole timeout must not
stall detection. Whether the warning worked (the person left) is judged by the caller, who sees
the detections; this module only reports whether the call itself succeeded.
"""

from __future__ import annotations

import logging
import string
import subprocess
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import httpx
from pydantic import Field, field_validator, model_validator

from fishwatch.common.strict import StrictModel
from streams.settings import redact

log = logging.getLogger(__name__)

#: The event fields a body, header or argument may name.
FIELDS = frozenset({"camera", "type", "zone", "id"})


def _check_template(text: str) -> str:
    for _, name, _, _ in string.Formatter().parse(text):
        if name is not None and name not in FIELDS:
            raise ValueError(
                f"unknown field {{{name}}} in {text!r}; use "
                + ", ".join(f"{{{f}}}" for f in sorted(FIELDS))
            )
    return text


def _fill(value: Any, fields: Mapping[str, str]) -> Any:
    """``value`` with ``{field}`` filled in every string it holds (dicts and lists too)."""
    if isinstance(value, str):
        return value.format_map(fields)
    if isinstance(value, dict):
        return {k: _fill(v, fields) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, fields) for v in value]
    return value


def _templates(value: Any) -> None:
    if isinstance(value, str):
        _check_template(value)
    elif isinstance(value, dict):
        for item in value.values():
            _templates(item)
    elif isinstance(value, list):
        for item in value:
            _templates(item)


class SpeakerConfig(StrictModel):
    """One camera's warning action: exactly one of ``url`` (HTTP) or ``command`` (local)."""

    url: str | None = Field(None, description="http(s) URL of the IP speaker's play endpoint")
    method: Literal["GET", "POST", "PUT"] = Field("POST", description="HTTP method")
    headers: dict[str, str] = Field(default_factory=dict, description="extra HTTP headers")
    body: dict[str, Any] | str | None = Field(
        None,
        description="JSON object, or text, sent with POST/PUT; strings may use {camera}, "
        "{type}, {zone}, {id}",
    )
    command: list[str] | None = Field(
        None, min_length=1, description="program and arguments, run without a shell"
    )
    timeout_s: Annotated[float, Field(gt=0, le=60)] = Field(
        5.0, description="give up on the call after this long"
    )
    leave_within_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        30.0,
        description="seconds after the warning by which the person should have left: "
        "the event's outcome is then 'dispersed' or 'stayed'",
    )

    @model_validator(mode="after")
    def _one_action(self) -> SpeakerConfig:
        if (self.url is None) == (self.command is None):
            raise ValueError("give exactly one of url or command")
        if self.url is not None and not self.url.lower().startswith(("http://", "https://")):
            raise ValueError(f"url must be http:// or https://, got {redact(self.url)!r}")
        if self.command is not None and (self.body is not None or self.headers):
            raise ValueError("body and headers apply to url, not command")
        if self.body is not None and self.method == "GET":
            raise ValueError("a GET request has no body; use POST or PUT")
        return self

    @field_validator("url", "headers", "body", "command")
    @classmethod
    def _known_fields(cls, value: Any) -> Any:
        _templates(value)
        return value

    @property
    def action(self) -> Literal["http", "command"]:
        return "http" if self.url is not None else "command"


@dataclass(frozen=True)
class WarningResult:
    """How one warning call went: ``error`` is None when the speaker accepted it."""

    action: Literal["http", "command"]
    ok: bool
    error: str | None
    duration_s: float


class Speaker:
    """Fires one camera's warning action in the background.

    Example:
        >>> speaker = Speaker(SpeakerConfig(url="http://10.0.0.7/api/play", body={"clip": 3}))
        >>> speaker.warn({"camera": "pier-3", "type": "angling", "zone": "bank", "id": "..."},
        ...              on_done=lambda result: print(result.ok))
        >>> speaker.close()
    """

    def __init__(self, config: SpeakerConfig, *, name: str = "") -> None:
        self.config = config
        self.name = name
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"speaker-{name}")
        self._client = httpx.Client(timeout=config.timeout_s) if config.url else None

    def warn(
        self, fields: Mapping[str, str], on_done: Callable[[WarningResult], None] | None = None
    ) -> Future[WarningResult]:
        """Start the call; ``on_done`` gets the result on the speaker's thread."""
        future = self._pool.submit(self.call, fields)
        if on_done is not None:
            future.add_done_callback(lambda f: on_done(f.result()))
        return future

    def call(self, fields: Mapping[str, str]) -> WarningResult:
        """Make the call now, in this thread; never raises for a failing speaker."""
        start = time.monotonic()
        try:
            error = self._http(fields) if self._client is not None else self._command(fields)
        except (httpx.HTTPError, OSError, subprocess.SubprocessError) as exc:
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        if error is not None:
            log.warning("speaker %s: warning failed: %s", self.name, error)
        return WarningResult(self.config.action, error is None, error, time.monotonic() - start)

    def _http(self, fields: Mapping[str, str]) -> str | None:
        config = self.config
        assert self._client is not None and config.url is not None
        body = _fill(config.body, fields)
        response = self._client.request(
            config.method,
            _fill(config.url, fields),
            headers=_fill(config.headers, fields),
            json=body if isinstance(body, dict) else None,
            content=body if isinstance(body, str) else None,
        )
        if response.is_success:
            return None
        return f"{redact(config.url)}: HTTP {response.status_code}"

    def _command(self, fields: Mapping[str, str]) -> str | None:
        assert self.config.command is not None
        args = _fill(self.config.command, fields)
        try:
            done = subprocess.run(
                args,
                capture_output=True,
                timeout=self.config.timeout_s,
                check=False,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired:
            return f"{args[0]}: no exit within {self.config.timeout_s:g} s"
        if done.returncode == 0:
            return None
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        return f"{args[0]}: exit code {done.returncode}" + (f": {detail[-1]}" if detail else "")

    def close(self) -> None:
        """Wait for a call in flight (at most its timeout), then release the connection pool."""
        self._pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()
