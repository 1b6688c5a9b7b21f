"""Uplink settings: where the centre is, who this box is, where undelivered events wait.

Kept apart from :mod:`streams.uplink` so that the root config can mount it without importing an
HTTP client.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AnyHttpUrl, Field, SecretStr, model_validator

from fishwatch.common.strict import StrictModel

Seconds = Annotated[float, Field(gt=0, le=86_400)]


class TokenError(RuntimeError):
    """The device token cannot be read (missing or empty token file)."""


class UplinkSettings(StrictModel):
    """How events reach the centre. Give exactly one of ``token`` or ``token_file``.

    Example:
        >>> UplinkSettings(centre_url="https://centre.example", device_id="box-017",
        ...                token_file="/etc/fishwatch/token",
        ...                outbox_path="/var/lib/fishwatch/outbox.db")
    """

    centre_url: AnyHttpUrl = Field(
        description="base URL of the centre; the ingest paths are appended to it")
    device_id: str = Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$",
        description="this box's name at the centre (letters, digits, '.', '_', '-')")
    token: SecretStr | None = Field(None, description="device token (prefer token_file)")
    token_file: Path | None = Field(
        None, description="file holding the device token; read on every request, so a "
                          "replaced token takes effect without a restart")
    outbox_path: Path = Field(description="SQLite file of the outbox")
    evidence_dir: Path | None = Field(
        None, description="folder the outbox keeps evidence files in; default: 'evidence' "
                          "beside the outbox file")
    retention_days: Annotated[float, Field(gt=0, le=365)] = Field(
        7.0, description="delivered events and their files are deleted after this long")
    backoff_min_s: Seconds = Field(
        1.0, description="wait after the first failed attempt; each further one doubles "
                         "(with jitter: a wait is drawn from the upper half of its step)")
    backoff_max_s: Seconds = Field(300.0, description="longest wait between attempts")
    connect_timeout_s: Seconds = Field(5.0, description="give up connecting after this long")
    timeout_s: Seconds = Field(
        30.0, description="give up when sending or receiving stalls this long")
    auth_retry_s: Seconds = Field(
        900.0, description="after a 401 sending pauses until the token changes, or this long")
    poll_s: Annotated[float, Field(gt=0, le=60)] = Field(
        2.0, description="look for messages added by other processes this often")
    heartbeat_interval_s: Seconds = Field(60.0, description="send a heartbeat this often")

    @model_validator(mode="after")
    def _check(self) -> UplinkSettings:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of token or token_file")
        if self.backoff_min_s > self.backoff_max_s:
            raise ValueError(f"backoff_min_s ({self.backoff_min_s}) is larger than backoff_max_s "
                             f"({self.backoff_max_s})")
        if self.centre_url.query or self.centre_url.fragment:
            raise ValueError("centre_url takes no query or fragment")
        return self

    @property
    def evidence_path(self) -> Path:
        """The evidence folder in effect."""
        return self.evidence_dir or self.outbox_path.parent / "evidence"

    def endpoint(self, path: str) -> str:
        """``centre_url`` joined with an API path such as ``/api/v1/ingest/events``."""
        return str(self.centre_url).rstrip("/") + path

    def device_token(self) -> str:
        """The token now in force: ``token``, or the stripped content of ``token_file``.

        Raises:
            TokenError: the file cannot be read or is empty.
        """
        if self.token is not None:
            return self.token.get_secret_value()
        assert self.token_file is not None
        try:
            token = self.token_file.read_text().strip()
        except OSError as exc:
            raise TokenError(f"cannot read token_file {self.token_file}: {exc.strerror}") from None
        if not token:
            raise TokenError(f"token_file {self.token_file} is empty")
        return token
