"""The console's Flask application: three pages and the small JSON API they call."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask, Response, jsonify, render_template, request

from local_pipeline.console.backend import MAX_UPLOAD_BYTES, ConsoleBackend
from local_pipeline.displays import parse_since


def create_app(backend: ConsoleBackend, *, where: str) -> Flask:
    """The application over one backend; ``where`` tells the user which pipeline the page talks to."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES

    def problem(status: int, message: str, hint: str) -> tuple[Response, int]:
        return jsonify({"error": message, "what_to_do": hint}), status

    @app.get("/")
    def try_a_photo() -> str:
        return render_template("try.html", page="try", where=where)

    @app.get("/cameras")
    def cameras_page() -> str:
        return render_template("cameras.html", page="cameras", where=where)

    @app.get("/report")
    def report_page() -> str:
        return render_template("report.html", page="report", where=where, cameras=backend.cameras())

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
        return jsonify({"cameras": backend.cameras()})

    @app.get("/api/cameras/<camera>")
    def camera(camera: str) -> Any:
        frame = backend.latest_frame(camera)
        if frame is None:
            return problem(404, f"no frame of camera {camera!r} yet", "upload frames to cameras/<camera id>/...")
        return jsonify({"camera": camera, "frame": frame, **backend.live(camera)})

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
        writer.writerow(["camera", "minute", "opportunities_to_see", "watchers", *mix_keys])
        for m in sorted(found.minutes, key=lambda m: m["minute"]):
            writer.writerow(
                [
                    found.camera,
                    m["minute"],
                    m["opportunities_to_see"],
                    m["watchers"],
                    *(m["mix"].get(k, 0) for k in mix_keys),
                ]
            )
        name = f"audience-{found.camera}-{found.until:%Y%m%dT%H%M}.csv"
        return Response(
            buffer.getvalue(), mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"}
        )

    @app.errorhandler(413)
    def too_large(_: Exception) -> Any:
        return problem(413, f"the file is over {MAX_UPLOAD_BYTES // 2**20} MB", "send a smaller image")

    return app
