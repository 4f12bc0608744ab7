"""`img2img eval` reproduces every shipped card's table: weights/TASK.json (written by scripts/ship_weights.py
next to weights/TASK.md) is evaluated again with the arguments it records, and every number it holds must come
back. Needs ../shared/data (the cards are measured on the real validation splits); skips without it."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from img2img.evaluate import evaluate
from img2img.inference import default_weights_dir

ROOT = Path(__file__).resolve().parents[1]
CARDS = sorted(p for p in default_weights_dir().glob("*.json") if not p.stem.endswith("-realism"))
CURVES = sorted(default_weights_dir().glob("*-realism.json"))
SOURCE = re.compile(r"the validation split of (\S+?)(?: \(|$)")


def _numbers(scores: dict, prefix: str = "") -> dict[str, float]:
    out = {}
    for key, value in scores.items():
        if isinstance(value, dict):
            out |= _numbers(value, f"{prefix}{key}.")
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[prefix + key] = float(value)
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize("card", CARDS, ids=lambda p: p.stem)
def test_eval_reproduces_the_card(card, shared_data):
    recorded = json.loads(card.read_text())
    match = SOURCE.match(recorded["source"])
    assert match, f"{card.name}: cannot tell which images the card was measured on: {recorded['source']!r}"
    data = ROOT / match.group(1)
    if not data.is_dir():
        pytest.skip(f"{data} is not present")
    report = evaluate(recorded["task"], data_dir=data, weights_dir=default_weights_dir(), samples=recorded["samples"],
                      size=recorded["size"], seed=recorded["seed"], split=recorded["split"],
                      limit=recorded["images"], task_options=recorded.get("task_options"),
                      work_scale=recorded.get("work_scale", False))
    assert report.images == recorded["images"]
    for model in ("cgan", "regression"):
        want, got = _numbers(recorded["models"][model]), _numbers(report.models[model])
        for key, value in want.items():
            assert key in got, f"{card.stem} {model}: eval no longer reports {key}"
            # Another CPU may sum in another order: the card is reproduced to 4 significant digits, not bit for bit.
            assert math.isclose(got[key], value, rel_tol=2e-3, abs_tol=2e-4), \
                f"{card.stem} {model} {key}: card {value}, eval now {got[key]}"


@pytest.mark.shared_data
@pytest.mark.parametrize("curve", CURVES, ids=lambda p: p.stem)
def test_eval_reproduces_the_realism_curve(curve, shared_data):
    """weights/TASK-realism.json (a shipped pair's curve): its middle point, the interpolated generator, comes back
    from `eval --realism` with the arguments it records (the ends are the card's own table)."""
    recorded = json.loads(curve.read_text())
    match = SOURCE.match(recorded["source"])
    assert match, f"{curve.name}: cannot tell which images the curve was measured on: {recorded['source']!r}"
    data = ROOT / match.group(1)
    if not data.is_dir():
        pytest.skip(f"{data} is not present")
    middle = recorded["points"][len(recorded["points"]) // 2]
    assert 0 < middle["realism"] < 1
    report = evaluate(recorded["task"], data_dir=data, weights_dir=default_weights_dir(), samples=recorded["samples"],
                      seed=recorded["seed"], split="val", limit=recorded["images"], realism=middle["realism"],
                      size=recorded["size"],
                      task_options=recorded.get("task_options"))
    got = _numbers(report.models["cgan"])
    for key, value in _numbers(middle).items():
        if key != "realism":
            assert math.isclose(got[key], value, rel_tol=2e-3, abs_tol=2e-4), \
                f"{curve.stem} a={middle['realism']} {key}: curve {value}, eval now {got[key]}"
