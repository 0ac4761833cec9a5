"""The benchmark script keeps working (a very short run; its figures are not asserted here)."""

from __future__ import annotations

from benchmarks import scaler as bench


def test_benchmark_runs_end_to_end(tmp_path):
    result = bench.run(0.3, tmp_path)
    assert result["single_alert"]["statuses"] == {"200": result["single_alert"]["webhooks"]}
    assert result["single_alert"]["webhooks"] > 0
    assert result["batch"] == {**result["batch"], "status": 200, "applied": 1000, "functions_scaled_at_provider": 1000}
    assert result["scaler_peak_rss_mb"] > 0
    names = [row[0] for row in bench.verdicts(result)]
    assert names[0] == "webhooks/s (c=16)" and "1,000-alert payload" in names
