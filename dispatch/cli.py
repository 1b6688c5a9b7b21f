"""``fishwatch dispatch``: schema, audit verifier, periodic worker, ledgers, figures, set-up.

A thin layer: it parses arguments, opens the database and calls the package. The database is
``--database-url`` (or FISHWATCH_DISPATCH_DATABASE_URL), else the ``dispatch:`` section of
``--config``, else the built-in default.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from uuid import UUID

import httpx
import typer

from dispatch.access import Actor, actor_for
from dispatch.audit import verify
from dispatch.crypto import generate_key
from dispatch.db import Database
from dispatch.devices import add_device, fleet, issue_token, revoke_tokens
from dispatch.errors import DispatchError
from dispatch.ledgers import (
    LedgerFilter,
    alerts_ledger,
    cases_ledger,
    orders_ledger,
    write_csv,
    write_xlsx,
)
from dispatch.notifications import DeliveryWorker
from dispatch.registry import create_user, register_camera, sync_departments
from dispatch.schemas import EventType, Role, utc_now
from dispatch.settings import DispatchConfig
from dispatch.sla import Sweeper
from dispatch.stats import overview
from fishwatch.common.cli import user_errors

app = typer.Typer(no_args_is_help=True, help="Work orders: database, audit trail, deadlines.")
db_app = typer.Typer(no_args_is_help=True, help="The dispatch database schema.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained audit trail.")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
device_app = typer.Typer(no_args_is_help=True, help="Edge boxes and their uplink tokens.")
app.add_typer(device_app, name="device")

CLI_ACTOR = Actor.system("cli")

ConfigOption = Annotated[Path | None, typer.Option(
    "--config", help="fishwatch config file whose dispatch: section to use")]
UrlOption = Annotated[str | None, typer.Option(
    "--database-url", envvar="FISHWATCH_DISPATCH_DATABASE_URL",
    help="SQLAlchemy URL; overrides the config's dispatch.database_url")]


#: Refusals and bad settings (a config error is a ValueError): the whole message, exit code 2.
reports_user_errors = user_errors(DispatchError, ValueError)


def settings(config: Path | None, database_url: str | None) -> DispatchConfig:
    if config is not None:
        from fishwatch.config import load_config

        loaded: DispatchConfig = load_config(config).dispatch
    else:
        loaded = DispatchConfig()
    return loaded.model_copy(update={"database_url": database_url}) if database_url else loaded


def open_database(config: Path | None, database_url: str | None) -> Database:
    return Database(settings(config, database_url).database_url)


@db_app.command("upgrade")
@reports_user_errors
def db_upgrade(config: ConfigOption = None, database_url: UrlOption = None) -> None:
    """Create or migrate the schema to the newest revision (start-up does the same)."""
    db = open_database(config, database_url)
    db.upgrade()
    typer.echo(f"database at revision {db.revision()}")
    db.dispose()


@audit_app.command("verify")
@reports_user_errors
def audit_verify(config: ConfigOption = None, database_url: UrlOption = None) -> None:
    """Recompute the audit chain; exit code 1 and the first broken link if it was tampered with."""
    db = open_database(config, database_url)
    with db.transaction() as session:
        report = verify(session)
    db.dispose()
    typer.echo(str(report))
    if not report.ok:
        raise typer.Exit(1)


@app.command("keygen")
def keygen() -> None:
    """Print a new key for dispatch.personal_data_key."""
    typer.echo(generate_key())


@app.command("sync")
@reports_user_errors
def sync(config: ConfigOption = None, database_url: UrlOption = None) -> None:
    """Make the departments table match the config (new, renamed, removed departments)."""
    dispatch = settings(config, database_url)
    db = Database(dispatch.database_url)
    with db.transaction() as session:
        sync_departments(session, dispatch, actor=CLI_ACTOR, at=utc_now())
    db.dispose()
    typer.echo(f"{len(dispatch.departments)} departments in the database")


@app.command("add-user")
@reports_user_errors
def add_user(
    username: Annotated[str, typer.Argument()],
    role: Annotated[Role, typer.Option(help="the user's role")],
    name: Annotated[str, typer.Option(help="display name")],
    department: Annotated[str | None, typer.Option(help="department code (staff only)")] = None,
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """Add a user (for the first admin; later ones through the centre's pages)."""
    db = open_database(config, database_url)
    with db.transaction() as session:
        user_id = create_user(session, actor=CLI_ACTOR, at=utc_now(), username=username,
                              display_name=name, role=role, department=department)
    db.dispose()
    typer.echo(f"user {username} ({role.value}): {user_id}")


@app.command("add-camera")
@reports_user_errors
def add_camera(
    device: Annotated[str, typer.Argument(help="the edge box's device_id")],
    camera: Annotated[str, typer.Argument(help="the camera's name on that box")],
    area: Annotated[str, typer.Option(help="area (routing rules match it)")] = "",
    grid: Annotated[str, typer.Option(help="grid cell (routing rules match it)")] = "",
    place: Annotated[str, typer.Option(help="where it looks, for people")] = "",
    lat: Annotated[float | None, typer.Option(min=-90, max=90)] = None,
    lon: Annotated[float | None, typer.Option(min=-180, max=180)] = None,
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """Register (or update) a camera so that its alerts can be routed."""
    db = open_database(config, database_url)
    with db.transaction() as session:
        camera_id = register_camera(session, actor=CLI_ACTOR, at=utc_now(), device=device,
                                    camera=camera, place=place, area=area, grid=grid, lat=lat,
                                    lon=lon)
    db.dispose()
    typer.echo(f"camera {device}/{camera}: {camera_id}")


DeviceArgument = Annotated[str, typer.Argument(help="the edge box's device_id")]


@device_app.command("add")
@reports_user_errors
def device_add(device: DeviceArgument, config: ConfigOption = None,
               database_url: UrlOption = None) -> None:
    """Register an edge box (its cameras are registered when they first send)."""
    db = open_database(config, database_url)
    with db.transaction() as session:
        device_id, created = add_device(session, actor=CLI_ACTOR, at=utc_now(), code=device)
    db.dispose()
    typer.echo(f"device {device}: {device_id}" + ("" if created else " (already registered)"))


@device_app.command("token")
@reports_user_errors
def device_token(
    device: DeviceArgument,
    label: Annotated[str, typer.Option(help="a note for whoever revokes it later")] = "",
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """Issue a token for the box and print it once (put it in the box's uplink token_file);
    its other tokens stay valid until revoked."""
    db = open_database(config, database_url)
    with db.transaction() as session:
        issued = issue_token(session, actor=CLI_ACTOR, at=utc_now(), device=device,
                             label=label)
    db.dispose()
    typer.echo(f"token {issued.id} for {device} (shown once, only its hash is kept):", err=True)
    typer.echo(issued.token)


@device_app.command("revoke")
@reports_user_errors
def device_revoke(
    device: DeviceArgument,
    token: Annotated[UUID | None, typer.Option(help="the token id; all the box's tokens "
                                                    "when left out")] = None,
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """Revoke a token of the box (or all): its next request is refused with 401."""
    db = open_database(config, database_url)
    with db.transaction() as session:
        revoked = revoke_tokens(session, actor=CLI_ACTOR, at=utc_now(), device=device,
                                token_id=token)
    db.dispose()
    typer.echo(f"revoked {len(revoked)} token(s) of {device}"
               + "".join(f"\n  {token_id}" for token_id in revoked))


@device_app.command("list")
@reports_user_errors
def device_list(
    offline_after: Annotated[float | None, typer.Option(
        min=1, help="seconds without a sign of life before a box counts as offline "
                    "[default: the config's centre.device_offline_after_s]")] = None,
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """The boxes: online or not, last seen, software and model, cameras online, tokens."""
    if offline_after is None:
        from fishwatch.config import FishwatchConfig, load_config

        loaded = load_config(config) if config is not None else FishwatchConfig()
        offline_after = loaded.centre.device_offline_after_s
    db = open_database(config, database_url)
    with db.transaction() as session:
        boxes = fleet(session, actor=CLI_ACTOR, now=utc_now(),
                      offline_after=timedelta(seconds=offline_after))
    db.dispose()
    for box in boxes:
        seen = box.last_seen_at.isoformat(timespec="seconds") if box.last_seen_at else "never"
        model = f"{box.model_name} {box.model_version}".strip() or "-"
        typer.echo(f"{box.code}\t{'online' if box.online else 'offline'}\tlast seen {seen}\t"
                   f"software {box.software_version or '-'}\tmodel {model}\tcameras "
                   f"{box.cameras_online}/{box.cameras_total} online\t"
                   f"{box.active_tokens} token(s)")


class LedgerKind(StrEnum):
    ALERTS = "alerts"
    ORDERS = "orders"
    CASES = "cases"


AsOption = Annotated[str, typer.Option("--as", help="the user the export is for (scopes it)")]
SinceOption = Annotated[datetime | None, typer.Option(help="from (UTC, inclusive)")]
UntilOption = Annotated[datetime | None, typer.Option(help="to (UTC, exclusive)")]


def ledger_filter(since: datetime | None, until: datetime | None, area: str | None,
                  department: str | None, event_type: EventType | None) -> LedgerFilter:
    def utc(value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    return LedgerFilter(since=utc(since), until=utc(until), area=area, department=department,
                        type=event_type)


@app.command("ledger")
@reports_user_errors
def ledger(
    kind: Annotated[LedgerKind, typer.Argument(help="which ledger")],
    out: Annotated[Path, typer.Option(help="output file: .csv or .xlsx")],
    user: AsOption,
    since: SinceOption = None, until: UntilOption = None,
    area: Annotated[str | None, typer.Option()] = None,
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    event_type: Annotated[EventType | None, typer.Option("--type")] = None,
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """Export a ledger (台账) of alerts, orders or commission cases."""
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise ValueError(f"{out}: the output must end in .csv or .xlsx")
    where = ledger_filter(since, until, area, department, event_type)
    db = open_database(config, database_url)
    with db.transaction() as session:
        actor = actor_for(session, user)
        if kind is LedgerKind.CASES:
            table = cases_ledger(session, actor, where, at=utc_now())
        else:
            table = (alerts_ledger if kind is LedgerKind.ALERTS else orders_ledger)(
                session, actor, where)
        if out.suffix.lower() == ".xlsx":
            count = write_xlsx(table, out)
        else:
            with out.open("w", encoding="utf-8", newline="") as stream:
                count = write_csv(table, stream)
    db.dispose()
    typer.echo(f"{count} rows: {out}")


@app.command("stats")
@reports_user_errors
def stats(
    user: AsOption,
    since: SinceOption = None, until: UntilOption = None,
    area: Annotated[str | None, typer.Option()] = None,
    department: Annotated[str | None, typer.Option(help="department code")] = None,
    event_type: Annotated[EventType | None, typer.Option("--type")] = None,
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """Print the overview figures as one JSON object."""
    where = ledger_filter(since, until, area, department, event_type)
    db = open_database(config, database_url)
    with db.transaction() as session:
        figures = overview(session, actor_for(session, user), where, now=utc_now())
    db.dispose()
    typer.echo(figures.model_dump_json())


@app.command("work")
@reports_user_errors
def work(
    every: Annotated[float, typer.Option(min=1, help="seconds between rounds")] = 30,
    once: Annotated[bool, typer.Option(help="one round, then exit")] = False,
    config: ConfigOption = None, database_url: UrlOption = None,
) -> None:
    """Run the deadline sweep and webhook deliveries; several workers may run at once."""
    dispatch = settings(config, database_url)
    db = Database(dispatch.database_url)
    sweeper = Sweeper(db, dispatch)
    with httpx.Client() as client:
        deliveries = DeliveryWorker(db, dispatch, client=client)
        while True:
            swept, sent = sweeper.run_once(), deliveries.run_once()
            typer.echo(f"{datetime.now().isoformat(timespec='seconds')} checked {swept.orders} "
                       f"orders, sent {dict(swept.sent) or 'no reminders'}, opened "
                       f"{swept.cases_opened} cases; webhooks: {sent.delivered} delivered, "
                       f"{sent.retrying} to retry, {sent.failed} failed")
            if once:
                break
            time.sleep(every)
    db.dispose()
