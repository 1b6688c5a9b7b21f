"""``fishwatch zones draw``: draw a camera's zones on its own picture and save them to the config.

Zones are pixel polygons of the analysed frame, so they are best drawn on a frame from that very
camera. The command grabs one (or takes a still), serves a small page on loopback where the user
clicks the corners, and writes the result under ``cameras.NAME.analysis.zones`` with ruamel.yaml,
so the rest of the file — comments, order, quoting — stays as the user wrote it. A save is
validated with :func:`fishwatch.config.load_config` before it replaces the file (atomically): a
zone the services would refuse never reaches the disk.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import cv2
import numpy as np
import typer
import yaml
from pydantic import Field
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from detector.annotate import ZONE_COLOURS
from detector.settings import ZoneSettings
from detector.zones import ZoneKind
from fishwatch.common.cli import fail, user_errors
from fishwatch.common.strict import StrictModel
from fishwatch.config import ConfigError, load_config
from streams.settings import CameraSourceConfig, SamplingConfig
from streams.source import Source, SourceError

if TYPE_CHECKING:
    from fastapi import FastAPI

#: What each zone kind means, in the words the page shows.
KIND_LABELS: dict[ZoneKind, str] = {
    ZoneKind.NO_FISHING: "no-fishing bank (angling, loitering)",
    ZoneKind.WATER: "water (nets)",
    ZoneKind.NO_BOAT: "no-boat water",
    ZoneKind.IGNORE: "ignore mask (road, poster, reflection)",
}


class ZoneSaveError(ValueError):
    """The drawn zones would make the config invalid; ``str()`` says why, one problem a line."""


class ZoneDraft(StrictModel):
    """A zone as the page sends it; the config's own validation judges it on save."""

    coordinates: list[tuple[int, int]]
    kinds: list[str]


class ZonesIn(StrictModel):
    """Every zone of the camera after the user's edits: the ones left out are deleted."""

    zones: dict[Annotated[str, Field(min_length=1, max_length=64)], ZoneDraft]


# --- the frame -----------------------------------------------------------------------------------
def grab_frame(source: CameraSourceConfig, camera: str) -> np.ndarray:
    """One BGR frame from the camera's own source (file, RTSP, HTTP or USB): its first keyframe."""
    once = source.model_copy(update={"sample": SamplingConfig(mode="keyframes"), "loop": False})
    with Source(once, camera=camera) as opened:
        for sampled in opened.frames():
            return np.array(sampled.frame)
    raise SourceError(f"{source.display_name}: no frame could be decoded", retryable=False)


def read_still(path: Path) -> np.ndarray:
    """A still image of the camera (JPEG, PNG...) as BGR."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SourceError(f"{path}: not an image that can be read (JPEG, PNG, BMP...)",
                          retryable=False)
    return image


# --- the YAML ------------------------------------------------------------------------------------
def _flow(items: list[Any]) -> CommentedSeq:
    """A ``[a, b]`` list: one zone stays on one line, as a person would write it."""
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _key(name: str) -> str:
    """``name``, quoted when the services' YAML 1.1 reader would take it for something else.

    ruamel writes YAML 1.2, where ``off``, ``yes`` or ``1e3`` are plain strings; PyYAML, which
    loads the config, reads them as a boolean or a number.
    """
    try:
        same = yaml.safe_load(name) == name
    except yaml.YAMLError:
        same = False
    return name if same else DoubleQuotedScalarString(name)


def write_zones(
    text: str, camera: str, frame_size: tuple[int, int], zones: Mapping[str, ZoneDraft]
) -> str:
    """``text`` with ``camera``'s zones replaced by ``zones``; everything else left as it was.

    A zone kept by name keeps its other settings (``inertia``) and its place in the file; an
    ``analysis`` section is created, with ``frame_size``, when the camera has none yet.
    """
    round_trip = _round_trip(*_indentation(text))
    data = round_trip.load(text)
    camera_node = data["cameras"][camera]
    analysis = camera_node.get("analysis")
    if analysis is None:
        if not zones:
            return text
        analysis = CommentedMap(frame_size=_flow(list(frame_size)))
        camera_node["analysis"] = analysis
    existing = analysis.get("zones")
    if existing is None:
        existing = analysis["zones"] = CommentedMap()
    existing.fa.set_block_style()
    for name in [n for n in existing if n not in zones]:
        del existing[name]
    for name, draft in zones.items():
        entry = existing.get(name)
        if entry is None:
            entry = existing[_key(name)] = CommentedMap()
            entry.fa.set_flow_style()  # a new zone takes one line; an old one keeps its style
        entry["coordinates"] = _flow([_flow([x, y]) for x, y in draft.coordinates])
        entry["kinds"] = _flow(list(draft.kinds))
    out = io.StringIO()
    round_trip.dump(data, out)
    return out.getvalue()


def _indentation(text: str) -> tuple[int, int]:
    """(mapping indent, offset of '-' under its key) the file uses, so a rewrite keeps its look."""
    mapping = offset = None
    parent: int | None = None  # indent of the last 'key:' line that opens a block
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        lead = len(line) - len(line.lstrip(" "))
        if parent is not None and lead >= parent:
            if stripped.startswith("- "):
                offset = lead - parent if offset is None else offset
            elif mapping is None and lead > parent:
                mapping = lead - parent
        opens_block = re.fullmatch(r"[^#'\"{\[]*:\s*(#.*)?", stripped.removeprefix("- "))
        parent = lead + (2 if stripped.startswith("- ") else 0) if opens_block else None
    return mapping or 2, offset or 0


def _round_trip(mapping: int, offset: int) -> YAML:
    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never re-wrap a user's long line
    round_trip.indent(mapping=mapping, sequence=offset + 2, offset=offset)
    return round_trip


def _without_location(error: ConfigError, path: Path) -> str:
    """Config errors of the unsaved text: 'field: message' lines (their line numbers would lie)."""
    return "\n".join(re.sub(rf"^{re.escape(str(path))}(:\d+)?: ", "", line)
                     for line in str(error).splitlines())


@dataclass
class ZoneFile:
    """One camera's zones in one config file: read through ``load_config``, written with ruamel."""

    path: Path
    camera: str
    frame_size: tuple[int, int]

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def zones(self) -> dict[str, ZoneSettings]:
        """The camera's zones as the file has them now."""
        analysis = load_config(self.path).cameras[self.camera].analysis
        return dict(analysis.zones) if analysis is not None else {}

    def save(self, zones: Mapping[str, ZoneDraft]) -> dict[str, ZoneSettings]:
        """Write ``zones`` as the camera's zones; on a problem the file is left untouched.

        Raises:
            ZoneSaveError: the config with these zones does not validate.
        """
        with self._lock:
            text = self.path.read_text(encoding="utf-8")
            new_text = write_zones(text, self.camera, self.frame_size, zones)
            fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                        dir=self.path.parent)
            temporary = Path(name)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(new_text)
                    out.flush()
                    os.fsync(out.fileno())
                try:
                    config = load_config(temporary)  # paths resolve alike: same folder
                except ConfigError as exc:
                    raise ZoneSaveError(_without_location(exc, temporary)) from None
                os.chmod(temporary, self.path.stat().st_mode & 0o7777)
                os.replace(temporary, self.path)
            finally:
                temporary.unlink(missing_ok=True)
        analysis = config.cameras[self.camera].analysis
        return dict(analysis.zones) if analysis is not None else {}


# --- the page ------------------------------------------------------------------------------------
def _state(zone_file: ZoneFile, zones: Mapping[str, ZoneSettings]) -> dict[str, Any]:
    def rgb(kind: ZoneKind) -> str:
        b, g, r = ZONE_COLOURS[kind]
        return f"rgb({r}, {g}, {b})"

    return {
        "camera": zone_file.camera,
        "file": str(zone_file.path),
        "frame_size": list(zone_file.frame_size),
        "kinds": [{"value": k.value, "label": KIND_LABELS[k], "colour": rgb(k)} for k in ZoneKind],
        "zones": {name: {"coordinates": [list(p) for p in zone.coordinates],
                         "kinds": [k.value for k in zone.kinds]} for name, zone in zones.items()},
    }


def create_app(zone_file: ZoneFile, frame_jpeg: bytes) -> FastAPI:
    """The editor: the page, the camera's frame, and the camera's zones to read and replace."""
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response

    app = FastAPI(title="fishwatch zone editor", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(RequestValidationError)
    async def malformed(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'][1:]))}: {e['msg']}"
                             for e in exc.errors())
        return JSONResponse({"detail": f"malformed request: {problems}"}, status_code=422)

    @app.get("/", response_class=HTMLResponse)
    def page() -> str:
        return PAGE

    @app.get("/frame.jpg")
    def frame() -> Response:
        return Response(frame_jpeg, media_type="image/jpeg")

    @app.get("/api/zones")
    def read_zones() -> JSONResponse:
        try:
            return JSONResponse(_state(zone_file, zone_file.zones()))
        except ConfigError as exc:  # someone broke the file since the editor started
            return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.put("/api/zones")
    def save_zones(body: ZonesIn) -> JSONResponse:
        try:
            saved = zone_file.save(body.zones)
        except ZoneSaveError as exc:
            return JSONResponse({"detail": f"not saved, the file is unchanged:\n{exc}"},
                                status_code=422)
        except ConfigError as exc:
            return JSONResponse({"detail": f"not saved: {exc}"}, status_code=409)
        return JSONResponse(_state(zone_file, saved))

    return app


# --- command line --------------------------------------------------------------------------------
zones_app = typer.Typer(no_args_is_help=True, help="Draw a camera's zones on its own picture.")


@zones_app.command("draw")
@user_errors(ConfigError, SourceError, ZoneSaveError)
def draw_command(
    config: Annotated[Path, typer.Option(help="fishwatch.yaml to write the zones into")],
    camera: Annotated[
        str | None, typer.Option(help="camera whose zones to draw; may be left out if only one")
    ] = None,
    frame: Annotated[
        Path | None, typer.Option(help="a still image of the camera, instead of grabbing one")
    ] = None,
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    host: Annotated[str, typer.Option(help="address to serve on; keep loopback")] = "127.0.0.1",
) -> None:
    """Serve a page showing the camera's frame; click zone corners, then Save. Ctrl-C stops."""
    import uvicorn

    settings = load_config(config)
    if camera is None and len(settings.cameras) == 1:
        camera = next(iter(settings.cameras))
    if camera not in settings.cameras:
        problem = "choose a camera with --camera" if camera is None else f"no camera {camera!r}"
        raise fail(f"{config}: {problem} (it has: {', '.join(settings.cameras) or 'none'})")
    chosen = settings.cameras[camera]
    image = read_still(frame) if frame is not None else grab_frame(chosen.source, camera)
    height, width = image.shape[:2]
    size = tuple(chosen.analysis.frame_size) if chosen.analysis else (width, height)
    if size != (width, height):
        typer.echo(f"note: the frame is {width}x{height}; it is shown scaled to the configured "
                   f"frame_size {size[0]}x{size[1]}, which the zones are in", err=True)
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok, "OpenCV failed to encode a decoded frame as JPEG"
    app = create_app(ZoneFile(Path(config), camera, (size[0], size[1])), jpeg.tobytes())
    typer.echo(f"zone editor for camera {camera} ({size[0]}x{size[1]}) of {config}: "
               f"open http://{host}:{port}/ — Ctrl-C stops")
    uvicorn.run(app, host=host, port=port, log_level="warning")


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>fishwatch · zones</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 0; display: flex; gap: 16px; padding: 12px; }
  #view { flex: 1; min-width: 0; }
  canvas { max-width: 100%; height: auto; cursor: crosshair; display: block;
           box-shadow: 0 0 0 1px #888; }
  aside { width: 300px; flex: none; display: flex; flex-direction: column; gap: 10px; }
  fieldset { border: 1px solid #bbb; border-radius: 4px; }
  label { display: block; margin: 2px 0; }
  button { margin: 2px 4px 2px 0; }
  ul { list-style: none; padding: 0; margin: 0; }
  li { display: flex; align-items: center; gap: 6px; padding: 3px 0; }
  li .swatch { width: 12px; height: 12px; border-radius: 2px; flex: none; }
  li .name { flex: 1; overflow: hidden; text-overflow: ellipsis; }
  #status { white-space: pre-wrap; padding: 6px; border-radius: 4px; background: #eee; }
  #status.error { background: #fdd; color: #700; }
  #status.saved { background: #dfd; color: #060; }
  .help { color: #555; font-size: 12px; }
</style>
</head>
<body>
<div id="view">
  <h3 id="title">zones</h3>
  <canvas id="canvas" width="16" height="16"></canvas>
</div>
<aside>
  <fieldset>
    <legend>New zone</legend>
    <label>Name <input id="zone-name" autocomplete="off" placeholder="e.g. north_bank"></label>
    <div id="kinds"></div>
    <div>
      <button id="undo" type="button" title="Backspace">Undo point</button>
      <button id="close" type="button" title="Enter, or click the first point">
        Close polygon</button>
      <button id="clear" type="button" title="Escape">Clear</button>
    </div>
    <p class="help">Click the corners on the picture in order around the zone.
      A zone kept under an existing name replaces it.</p>
  </fieldset>
  <fieldset>
    <legend>Zones of this camera</legend>
    <ul id="zones"></ul>
  </fieldset>
  <div><button id="save" type="button">Save to the config file</button></div>
  <div id="status">loading…</div>
</aside>
<script>
"use strict";
const canvas = document.getElementById("canvas");
const ctx = canvas.getContext("2d");
const image = new Image();
let state = null;      // what the server sent: frame size, kinds, saved zones
let zones = {};        // the zones as edited here: name -> {coordinates, kinds}
let points = [];       // corners of the polygon being drawn
let hover = null;      // the cursor, in frame pixels
let dirty = false;

function status(text, kind) {
  const box = document.getElementById("status");
  box.textContent = text;
  box.className = kind || "";
}

function colourOf(kinds) {
  const kind = state.kinds.find(k => kinds.includes(k.value));
  return kind ? kind.colour : "rgb(255, 255, 255)";
}

function framePoint(event) {
  const box = canvas.getBoundingClientRect();
  const [w, h] = state.frame_size;
  const x = Math.round((event.clientX - box.left) * w / box.width);
  const y = Math.round((event.clientY - box.top) * h / box.height);
  return [Math.min(Math.max(x, 0), w), Math.min(Math.max(y, 0), h)];
}

function chosenKinds() {
  return [...document.querySelectorAll("input[name=kind]:checked")].map(box => box.value);
}

function path(corners, closed) {
  ctx.beginPath();
  corners.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
  if (closed) ctx.closePath();
}

function draw() {
  const scale = state.frame_size[0] / canvas.getBoundingClientRect().width || 1;
  ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
  ctx.lineWidth = 2 * scale;
  ctx.font = `${Math.round(14 * scale)}px system-ui, sans-serif`;
  ctx.textAlign = "center"; ctx.textBaseline = "middle";
  for (const [name, zone] of Object.entries(zones)) {
    const colour = colourOf(zone.kinds);
    path(zone.coordinates, true);
    ctx.globalAlpha = 0.25; ctx.fillStyle = colour; ctx.fill();
    ctx.globalAlpha = 1; ctx.strokeStyle = colour; ctx.stroke();
    const n = zone.coordinates.length;
    const cx = zone.coordinates.reduce((s, p) => s + p[0], 0) / n;
    const cy = zone.coordinates.reduce((s, p) => s + p[1], 0) / n;
    ctx.fillStyle = "white"; ctx.strokeStyle = "black"; ctx.lineWidth = 3 * scale;
    ctx.strokeText(name, cx, cy); ctx.fillText(name, cx, cy);
    ctx.lineWidth = 2 * scale;
  }
  if (points.length) {
    const colour = colourOf(chosenKinds());
    path(hover ? [...points, hover] : points, false);
    ctx.strokeStyle = colour; ctx.setLineDash([6 * scale, 4 * scale]); ctx.stroke();
    ctx.setLineDash([]);
    points.forEach(([x, y], i) => {
      ctx.beginPath(); ctx.arc(x, y, (i ? 4 : 6) * scale, 0, 2 * Math.PI);
      ctx.fillStyle = i ? colour : "white"; ctx.fill(); ctx.stroke();
    });
  }
}

function listZones() {
  const list = document.getElementById("zones");
  list.replaceChildren();
  for (const [name, zone] of Object.entries(zones)) {
    const item = document.createElement("li");
    item.dataset.zone = name;
    const swatch = document.createElement("span");
    swatch.className = "swatch"; swatch.style.background = colourOf(zone.kinds);
    const label = document.createElement("span");
    label.className = "name"; label.textContent = `${name} (${zone.kinds.join(", ")})`;
    label.title = JSON.stringify(zone.coordinates);
    const remove = document.createElement("button");
    remove.type = "button"; remove.textContent = "Delete";
    remove.addEventListener("click", () => {
      delete zones[name]; changed(`deleted ${name}`);
    });
    item.append(swatch, label, remove);
    list.append(item);
  }
  if (!Object.keys(zones).length) {
    const item = document.createElement("li");
    item.textContent = "none: the whole frame is one zone where every rule applies";
    list.append(item);
  }
}

function changed(message) {
  dirty = true;
  listZones(); draw();
  status(`${message} — not saved yet`);
}

function closePolygon() {
  const name = document.getElementById("zone-name").value.trim();
  const kinds = chosenKinds();
  if (points.length < 3) return status("a zone needs at least 3 corners", "error");
  if (!name) return status("give the zone a name first", "error");
  if (!kinds.length) return status("tick at least one kind", "error");
  const replaced = name in zones;
  zones[name] = {coordinates: points, kinds};
  points = []; hover = null;
  document.getElementById("zone-name").value = "";
  for (const box of document.querySelectorAll("input[name=kind]")) box.checked = false;
  changed(`${replaced ? "replaced" : "added"} ${name}`);
}

canvas.addEventListener("click", event => {
  if (!state) return;
  const point = framePoint(event);
  const scale = state.frame_size[0] / canvas.getBoundingClientRect().width;
  const [first] = points;
  if (points.length >= 3 && Math.hypot(point[0] - first[0], point[1] - first[1]) < 8 * scale) {
    return closePolygon();
  }
  points.push(point);
  status(`${points.length} corner${points.length > 1 ? "s" : ""}: ` +
         points.map(p => `[${p}]`).join(" "));
  draw();
});
canvas.addEventListener("mousemove", event => {
  if (state && points.length) { hover = framePoint(event); draw(); }
});
canvas.addEventListener("mouseleave", () => { hover = null; if (state) draw(); });
document.getElementById("undo").addEventListener("click", () => { points.pop(); draw(); });
document.getElementById("clear").addEventListener("click", () => { points = []; draw(); });
document.getElementById("close").addEventListener("click", closePolygon);
document.addEventListener("keydown", event => {
  if (event.target.tagName === "INPUT" && event.key !== "Enter") return;
  if (event.key === "Backspace" || (event.key === "z" && (event.ctrlKey || event.metaKey))) {
    points.pop(); draw(); event.preventDefault();
  } else if (event.key === "Enter") {
    closePolygon(); event.preventDefault();
  } else if (event.key === "Escape") {
    points = []; draw();
  }
});
window.addEventListener("resize", () => state && draw());
window.addEventListener("beforeunload", event => { if (dirty) event.preventDefault(); });

document.getElementById("save").addEventListener("click", async () => {
  status("saving…");
  const response = await fetch("api/zones", {
    method: "PUT", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({zones}),
  });
  const body = await response.json();
  if (!response.ok) return status(body.detail, "error");
  load(body);
  dirty = false;
  status(`saved ${Object.keys(zones).length} zone(s) to ${body.file}`, "saved");
});

function load(body) {
  state = body;
  zones = structuredClone(body.zones);
  listZones(); draw();
}

async function start() {
  const response = await fetch("api/zones");
  const body = await response.json();
  if (!response.ok) return status(body.detail, "error");
  [canvas.width, canvas.height] = body.frame_size;
  document.getElementById("title").textContent =
    `camera ${body.camera} · ${body.frame_size.join("x")} px · ${body.file}`;
  const kinds = document.getElementById("kinds");
  for (const kind of body.kinds) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox"; box.name = "kind"; box.value = kind.value;
    box.addEventListener("change", () => {
      if (box.checked && kind.value === "ignore") {
        for (const other of kinds.querySelectorAll("input")) other.checked = other === box;
      } else if (box.checked) {
        kinds.querySelector("input[value=ignore]").checked = false;
      }
      draw();
    });
    label.append(box, ` ${kind.label}`);
    kinds.append(label);
  }
  image.onload = () => { load(body); status("click the corners of a zone on the picture"); };
  image.src = "frame.jpg";
}
start();
</script>
</body>
</html>
"""
