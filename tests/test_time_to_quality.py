"""benchmarks/time_to_quality.py's speed-up arithmetic on best-so-far curves, on made-up curves."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SPEC = importlib.util.spec_from_file_location("time_to_quality",
                                              Path(__file__).resolve().parents[1] / "benchmarks/time_to_quality.py")
ttq = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(ttq)


def curve(values, every=3.0):
    return {"points": [{"minutes": i * every, "step": i * 100, "fd": v, "kid": v / 1000, "lpips": v / 100}
                       for i, v in enumerate(values)]}


def test_speedup_is_time_to_the_references_best_over_time_to_the_same_value():
    # The reference's best (100) comes at minute 9; "fast" is at or below 100 from minute 3 on: 3x.
    # A late bump does not matter on best-so-far curves.
    results = {"ref": curve([400, 200, 150, 100, 120]), "fast": curve([400, 90, 130, 95, 96]),
               "slow": curve([400, 300, 250, 200, 101])}
    s = ttq.speedups(results, ["ref", "fast", "slow"], "fd")
    assert s["target"] == 100 and s["reference_minutes"] == 9.0
    assert s["fast"] == {"minutes": 3.0, "speedup": 3.0}
    assert s["slow"] == {"minutes": None, "speedup": None}  # never reaches it within the budget


def test_the_table_prints_both_curves_and_each_speedup():
    results = {"pix2pix": curve([400, 200, 100]), "default": curve([400, 100, 90])}
    report = {"minutes": 6, "eval_every": 3, "threads": 1, "concurrent": True, "val_images": 8, "config": "c.json",
              "recipes": {"pix2pix": {}, "default": {}}, "curves": results,
              "speedup": {m: ttq.speedups(results, ["pix2pix", "default"], m) for m in ("fd", "kid", "lpips")}}
    text = ttq.render(report, ["pix2pix", "default"])
    assert "| minutes | pix2pix step | pix2pix fd | pix2pix kid | pix2pix lpips | default step |" in text
    assert "| 3.0 | 100 | 200.0 | 0.2000 | 2.0000 | 100 | 100.0 | 0.1000 | 1.0000 |" in text
    assert "- fd (target 100): default 6.0/3.0 min = 2.00x" in text
    assert "swd" not in text  # a run without a metric has no column for it


def test_sharpness_is_a_column_but_not_a_speedup():
    results = {"a": curve([400, 200]), "b": curve([400, 100])}
    for r, sharp in zip(results.values(), ([0.2, 0.4], [0.3, 0.9])):
        for point, value in zip(r["points"], sharp):
            point["sharpness"] = value
    report = {"minutes": 3, "eval_every": 3, "threads": 1, "concurrent": True, "val_images": 8, "config": "c.json",
              "recipes": {"a": {}, "b": {}}, "curves": results,
              "speedup": {m: ttq.speedups(results, ["a", "b"], m) for m in ttq.SPEEDUP_METRICS if m != "swd"}}
    text = ttq.render(report, ["a", "b"])
    assert "| a lpips | a sharpness | b step |" in text and "| 3.0 | 100 | 200.0 | 0.2000 | 2.0000 | 0.400 |" in text
    assert "- sharpness" not in text and "sharpness" not in ttq.SPEEDUP_METRICS


@pytest.mark.parametrize("values, expected", [([5, 7, 3, 4], [5, 5, 3, 3]), ([1], [1])])
def test_best_so_far_never_rises(values, expected):
    assert [v for _, v in ttq.best_so_far(curve(values)["points"], "fd")] == expected


def test_a_reference_that_never_improves_on_its_start_has_no_speedup():
    # uncrop's swd: the untrained generator's fill scored best for the reference; "faster" reached it at minute 0.
    results = {"ref": curve([100, 130, 120]), "other": curve([100, 60, 50])}
    s = ttq.speedups(results, ["ref", "other"], "fd")
    assert s["reference_minutes"] == 0 and s["other"] == {"minutes": 0.0, "speedup": None}
    report = {"minutes": 6, "eval_every": 3, "threads": 1, "concurrent": True, "val_images": 8, "config": "c.json",
              "recipes": {"ref": {}, "other": {}}, "curves": results, "speedup": {"fd": s}}
    assert "- fd (target 100): ref never improves on its untrained score; no speed-up to compute" in ttq.render(
        report, ["ref", "other"])
