"""The console's Flask application: three pages and the small JSON API they call.

It serves 127.0.0.1 only, and guards against other pages the browser has open:
- **DNS rebinding**: a request whose ``Host`` is not this machine (``127.0.0.1``, ``localhost``, ``[::1]``)
  is refused, so a name that resolves here cannot reach the console as its own origin;
- **cross-site requests**: every state-changing request must carry this process's token
  (``X-Console-Token``, embedded in the pages; another origin cannot read it) and, when the browser
  sends one, an ``Origin`` of this machine;
- **headers**: a content security policy of this origin only, no framing, no MIME sniffing, no referrer.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, render_template, request

from local_pipeline.console.backend import MAX_UPLOAD_BYTES, ConsoleBackend
from local_pipeline.displays import parse_since

#: Host names that are this machine: anything else in ``Host`` or ``Origin`` is another site.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
TOKEN_HEADER = "X-Console-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
        "connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: A webcam frame's capture time comes from the browser unless its clock is further off than this.
WEBCAM_CLOCK_SKEW = timedelta(minutes=5)
#: Characters a spreadsheet takes as the start of a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


HOST = re.compile(r"(?P<name>\[[0-9a-fA-F:]+\]|[^:\[\]]+)(?::\d{1,5})?")


def _local(host: str | None) -> bool:
    """Whether ``host`` (``name[:port]``, nothing else) names this machine."""
    match = HOST.fullmatch(host or "")
    return match is not None and match["name"].lower() in LOCAL_HOSTS


def csv_cell(value: object) -> object:
    """A value as a CSV cell that no spreadsheet runs as a formula."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def face_number(result: dict[str, Any], box: list[float]) -> int | None:
    """The 1-based number of the face in ``result`` whose box is ``box`` ([left, top, width, height])."""
    for number, face in enumerate(result.get("FaceDetails", []), start=1):
        b = face.get("BoundingBox") or {}
        theirs = [b.get("Left", -1), b.get("Top", -1), b.get("Width", -1), b.get("Height", -1)]
        if box and all(abs(x - y) < 1e-3 for x, y in zip(theirs, box, strict=True)):
            return number
    return None


def create_app(backend: ConsoleBackend, *, where: str, token: str | None = None) -> Flask:
    """The application over one backend; ``where`` tells the user which pipeline the page talks to, ``token``
    guards state-changing requests (a fresh random one unless given).
    """
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES
    app.config["CONSOLE_TOKEN"] = token or secrets.token_urlsafe(32)

    def problem(status: int, message: str, hint: str) -> tuple[Response, int]:
        return jsonify({"error": message, "what_to_do": hint}), status

    @app.before_request
    def same_machine_and_same_page() -> Any:
        if not _local(request.host):
            return problem(421, "this console answers only as 127.0.0.1 or localhost", "open http://127.0.0.1:<port>/")
        if request.method in SAFE_METHODS:
            return None
        origin = request.headers.get("Origin")
        if origin is not None and not _local(urlsplit(origin).netloc):
            return problem(403, "a request from another site", "use the console's own page")
        if not secrets.compare_digest(request.headers.get(TOKEN_HEADER, ""), app.config["CONSOLE_TOKEN"]):
            return problem(403, "the page's token is missing or out of date", "reload the page")
        return None

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.context_processor
    def page_token() -> dict[str, str]:
        return {"console_token": app.config["CONSOLE_TOKEN"]}

    @app.get("/")
    def try_a_photo() -> str:
        return render_template("try.html", page="try", where=where)

    @app.get("/cameras")
    def cameras_page() -> str:
        return render_template("cameras.html", page="cameras", where=where)

    @app.get("/webcam")
    def webcam_page() -> str:
        return render_template("webcam.html", page="webcam", where=where)

    @app.post("/api/webcam/start")
    def webcam_start() -> Any:
        name = (request.get_json(silent=True) or {}).get("name", "")
        try:
            return jsonify(backend.webcam_display(str(name)))
        except ValueError as exc:
            return problem(400, str(exc), "use a short name such as desk or front-door")

    @app.post("/api/webcam/frames")
    def webcam_frame() -> Any:
        file = request.files.get("frame")
        data = file.read() if file is not None else b""
        if not data:
            return problem(400, "no frame in the request", "start the camera again")
        now = datetime.now(UTC)
        try:
            captured = datetime.fromisoformat(request.form.get("captured_at", "").replace("Z", "+00:00"))
            if captured.tzinfo is None or abs(captured - now) > WEBCAM_CLOCK_SKEW:
                captured = now  # a browser clock far off: the server's time is the better capture time
        except ValueError:
            captured = now
        try:
            return jsonify(backend.upload_frame(request.form.get("name", ""), data, captured)), 201
        except ValueError as exc:
            return problem(400, str(exc), "use a short name such as desk or front-door")

    @app.get("/report")
    def report_page() -> str:
        return render_template("report.html", page="report", where=where, cameras=backend.cameras()[0])

    @app.post("/api/uploads")
    def upload() -> Any:
        file = request.files.get("photo")
        if file is None or not file.filename:
            return problem(400, "no photo in the request", "choose or drop an image file")
        data = file.read()
        if not data:
            return problem(400, f"{file.filename} is empty", "choose a file that holds an image")
        return jsonify(backend.upload(file.filename, data)), 201

    @app.get("/api/results")
    def result() -> Any:
        key = request.args.get("key", "")
        if not key.startswith("uploads/"):
            return problem(400, "a key under uploads/ is required", "use the key the upload returned")
        document = backend.result(key)
        if document is None:
            return jsonify({"status": "pending", "result_key": backend.result_key(key)}), 202
        return jsonify({"status": "done", "result_key": backend.result_key(key), "result": document})

    @app.get("/api/cameras")
    def cameras() -> Any:
        found, following = backend.cameras(after=request.args.get("after") or None)
        return jsonify({"cameras": found, "next": following})

    @app.get("/api/cameras/<camera>")
    def camera(camera: str) -> Any:
        frame = backend.latest_frame(camera)
        if frame is None:
            return problem(404, f"no frame of camera {camera!r} yet", "upload frames to cameras/<camera id>/...")
        live = backend.live(camera)
        for track in live["tracks"]:  # the number its face has in the frame's boxes (None: not in this frame)
            track["face"] = face_number(frame, track.pop("box"))
        return jsonify({"camera": camera, "frame": frame, **live})

    @app.get("/api/images")
    def image() -> Any:
        key = request.args.get("key", "")
        data = backend.image(key) if key.startswith(("uploads/", "cameras/")) else None
        if data is None:
            return problem(404, "the image is not in the input bucket", "it may have expired or been deleted")
        return Response(data, mimetype="application/octet-stream")

    def report_of() -> Any:
        """The requested report, or the problem response that says what is wrong with the request."""
        camera = request.args.get("camera", "")
        try:
            if not camera:
                raise ValueError("choose a camera")
            return backend.report(camera, parse_since(request.args.get("since", "1h")))
        except ValueError as exc:
            return problem(400, str(exc), "pick a camera and a range such as 1h, 30m or 7d")

    @app.get("/api/report")
    def report() -> Any:
        found = report_of()
        if isinstance(found, tuple):
            return found
        return jsonify(
            {**found.summary(), "minutes": sorted(found.minutes, key=lambda m: m["minute"]), "tracks": found.tracks}
        )

    @app.get("/api/report.csv")
    def report_csv() -> Any:
        found = report_of()
        if isinstance(found, tuple):
            return found
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        mix_keys = sorted({k for m in found.minutes for k in m["mix"]})
        writer.writerow([csv_cell(v) for v in ["camera", "minute", "opportunities_to_see", "watchers", *mix_keys]])
        for m in sorted(found.minutes, key=lambda m: m["minute"]):
            row = [found.camera, m["minute"], m["opportunities_to_see"], m["watchers"]]
            writer.writerow([csv_cell(v) for v in [*row, *(m["mix"].get(k, 0) for k in mix_keys)]])
        name = f"audience-{found.camera}-{found.until:%Y%m%dT%H%M}.csv"
        return Response(
            buffer.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"}
        )

    @app.errorhandler(413)
    def too_large(_: Exception) -> Any:
        return problem(413, f"the file is over {MAX_UPLOAD_BYTES // 2**20} MB", "send a smaller image")

    return app
