"""The whole local pipeline: embedded AWS, the stack's resources, and worker processes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import IO

from infra.config import PipelineConfig
from local_pipeline.aws import EmbeddedAws, LocalResources, provision

#: How long a worker gets to finish its batch after SIGTERM before it is killed.
STOP_GRACE_S = 15


class LocalPipeline:
    """``with LocalPipeline(config) as pipeline:`` uploads to ``pipeline.resources.input_bucket`` get results."""

    def __init__(
        self,
        config: PipelineConfig | None = None,
        *,
        port: int | None = None,
        workers: int = 1,
        worker_log: Path | None = None,
        throttle: float = 0.0,
    ) -> None:
        self.config = config or PipelineConfig()
        self.aws = EmbeddedAws(port)
        self.workers = workers
        self.worker_log = worker_log
        self.throttle = throttle
        self.processes: list[subprocess.Popen] = []  # the inference workers
        self.audience_process: subprocess.Popen | None = None
        self._state = tempfile.TemporaryDirectory(prefix="agegender-local-")
        self._log: IO[str] | None = None
        self._resources: LocalResources | None = None

    @property
    def resources(self) -> LocalResources:
        """The provisioned resources (inside the ``with`` block)."""
        if self._resources is None:
            raise RuntimeError("the local pipeline is not running: use it as a context manager")
        return self._resources

    @property
    def resources_file(self) -> Path:
        return Path(self._state.name) / "resources.json"

    def __enter__(self) -> LocalPipeline:
        self.aws.__enter__()
        self._resources = provision(self.config, self.aws.endpoint)
        self.resources_file.write_text(self.resources.to_json())
        self._log = open(self.worker_log, "a") if self.worker_log else None
        for _ in range(self.workers):
            self.start_worker(self.throttle)
        if self.config.audience_stage:
            self.audience_process = self._spawn(self.worker_command(stage="audience"))
        return self

    def worker_command(self, throttle: float = 0.0, stage: str = "inference") -> list[str]:
        config = json.dumps(dataclasses.asdict(self.config))
        return [sys.executable, "-m", "local_pipeline.cli", "local", "worker", "--resources", str(self.resources_file),
                "--config", config, "--throttle", str(throttle), "--stage", stage]  # fmt: skip

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        out = self._log or subprocess.DEVNULL
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}  # log lines reach the file even if the worker is killed
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)

    def start_worker(self, throttle: float = 0.0) -> subprocess.Popen:
        """One more inference worker process (what another concurrent Lambda invocation would be)."""
        process = self._spawn(self.worker_command(throttle))
        self.processes.append(process)
        return process

    @property
    def all_processes(self) -> list[subprocess.Popen]:
        """The inference workers and the audience worker (where the stage is on)."""
        return self.processes + ([self.audience_process] if self.audience_process else [])

    def stop_workers(self) -> None:
        for process in self.all_processes:
            if process.poll() is None:
                process.terminate()
        for process in self.all_processes:
            try:
                process.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        self.audience_process = None

    def __exit__(self, *exc: object) -> None:
        self.stop_workers()
        self.aws.__exit__(*exc)
        if self._log:
            self._log.close()
        self._state.cleanup()
