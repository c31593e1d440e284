"""The load benchmark's short version (``make soak`` runs 5,000 uploads): nothing lost, nothing twice."""

from __future__ import annotations

from bench.load import run_load


def test_two_hundred_uploads_with_two_workers(tmp_path):
    report = run_load(200, workers=2, timeout_s=300, log=tmp_path / "worker.log")
    assert report.results == 200
    assert report.missing == 0
    assert report.duplicates == 0
    assert report.left_in_queue == 0
    assert report.left_in_dlq == 0
    assert len(report.worker_peak_rss_mb) == 2
    assert max(report.worker_peak_rss_mb) < 300
