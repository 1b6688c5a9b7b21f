"""The ``centre:`` section of the config tree: how ``fishwatch serve`` listens, logs users in,
stores evidence and judges its fleet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, SecretStr, model_validator

from fishwatch.common.strict import StrictModel


class S3StoreConfig(StrictModel):
    """An S3-compatible bucket (AWS, MinIO, Ceph...) for deployments with several centre
    processes or more evidence than one disk holds."""

    bucket: Annotated[str, Field(min_length=3, max_length=63, description="bucket name")]
    endpoint_url: HttpUrl | None = Field(None, description="leave out for AWS itself")
    region: str = Field("us-east-1", description="the bucket's region")
    access_key_id: SecretStr | None = Field(
        None, description="left out: boto3's own lookup (environment, instance role)")
    secret_access_key: SecretStr | None = Field(
        None, description="goes with access_key_id")
    prefix: Annotated[str, Field(max_length=200, pattern=r"^[A-Za-z0-9/_.-]*$",
                                 description="key prefix of every file the centre stores")
                      ] = "evidence/"


class EvidenceStoreConfig(StrictModel):
    """Where evidence files (snapshots, clips, field photos) are kept; keys are chosen by the
    centre, never by the uploader."""

    backend: Literal["local", "s3"] = Field(
        "local", description="local: a folder on this machine; s3: a bucket (several machines)")
    folder: Path = Field(Path("/var/lib/fishwatch/centre/evidence"),
                         description="local backend: the folder it owns; relative paths "
                                     "are relative to the config file")
    s3: S3StoreConfig | None = None

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> EvidenceStoreConfig:
        if self.backend == "s3" and self.s3 is None:
            raise ValueError("backend 's3' needs an 's3:' section with at least 'bucket'")
        return self


class LoginConfig(StrictModel):
    """Browser sessions and lockout against password guessing."""

    max_failures: Annotated[int, Field(ge=1, le=100,
                                       description="failed logins in a row before a lockout")] = 5
    lockout_min: Annotated[int, Field(ge=1, le=24 * 60,
                                      description="minutes a locked account stays locked")] = 15
    session_hours: Annotated[float, Field(gt=0, le=24 * 30,
                                          description="a browser session ends this long after "
                                                      "sign-in")] = 12.0
    secure_cookies: bool = Field(
        False, description="mark cookies Secure (set true behind HTTPS, as in production)")


class CentreConfig(StrictModel):
    """The centre's web server: API, device ingest and pages."""

    host: str = Field("127.0.0.1", description="address to listen on; 0.0.0.0 for all")
    port: Annotated[int, Field(ge=1, le=65535, description="TCP port; 'fishwatch serve "
                                                           "--port' overrides it")] = 8000
    workers: Annotated[int, Field(ge=1, le=64, description="uvicorn worker processes; more "
                                                           "than one needs PostgreSQL")] = 1
    evidence: EvidenceStoreConfig = EvidenceStoreConfig()
    login: LoginConfig = LoginConfig()
    max_upload_mb: Annotated[int, Field(
        ge=1, le=4096, description="largest request body (ingest, field photos, page forms); "
                                   "larger ones are refused unread (413)")] = 64
    device_offline_after_s: Annotated[float, Field(
        gt=0, le=86400, description="an edge box without a heartbeat this long shows as "
                                    "offline")] = 180.0
    sweep_interval_s: Annotated[float, Field(gt=0, le=3600,
                                             description="period of the deadline sweep and "
                                                         "webhook delivery")] = 30.0
    trusted_proxies: list[str] = Field(
        ["127.0.0.1"], description="addresses (or '*') of reverse proxies whose "
                                   "X-Forwarded-For/-Proto headers are believed")
    run_sweeper: bool = Field(True, description="run the sweep in the serving process; false "
                                                "when 'fishwatch dispatch work' runs it")
    default_language: Literal["zh", "en"] = Field(
        "zh", description="page language for users who have not chosen one")
