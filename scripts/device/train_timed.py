"""Runs ON the lent GPU machine (scripts/device/lease.sh calls it): trains .dev/job.json in the time left.

A 200-step probe measures step/s with this job's config, data and batch; the real run is then sized to end
(its learning-rate decay complete) before the deadline, T0 + END_S. bf16 autocast, falling back to fp32 if the
probe fails. The weights, best weights, log, config and last sample grid are copied to $OUT.
Env: T0, END_S, OUT; BATCH (16), WORKERS (12), PY (python3), DEVICE (cuda), EXTRA (more train arguments).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

T0 = float(os.environ["T0"])
END = T0 + float(os.environ.get("END_S", "565"))
OUT = Path(os.environ["OUT"])
PY, DEVICE = os.environ.get("PY", "python3"), os.environ.get("DEVICE", "cuda")
BATCH, WORKERS = int(os.environ.get("BATCH", "16")), os.environ.get("WORKERS", "12")
JOB = json.loads(Path(".dev/job.json").read_text())
CONFIG = json.loads(Path(JOB["config"]).read_text())
NAME = f"{CONFIG['task']}-{CONFIG.get('model', 'cgan')}"
REPORT = open(OUT / "train.out", "a")


def say(message: str) -> None:
    print(f"[{time.time() - T0:6.1f} s] {message}", file=REPORT, flush=True)


def command(out: str, steps: int, precision: str, every: int) -> list[str]:
    cmd = [PY, "-m", "img2img", "train", "--config", JOB["config"], "--batch-size", str(BATCH), "--steps", str(steps),
           "--precision", precision, "--device", DEVICE, "--num-workers", WORKERS, "--checkpoint-every", str(every),
           "--sample-every", str(every * 4), "--set", "log_every=50", "--out", out, "--quiet"]
    if JOB["data"]:  # the shrunk copies, with the config's folder weights
        cmd += ["--set", "data=" + json.dumps(JOB["data"])]
    if JOB["init"]:
        cmd += ["--init", JOB["init"]]
    for override in JOB["set"]:
        cmd += ["--set", override]
    return cmd + shlex.split(os.environ.get("EXTRA", ""))


def steps_per_second(out: str) -> float:
    rows = [json.loads(x) for x in (Path(out) / "log.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "lr" in r]  # training lines (validation lines carry no lr)
    first, last = logged[0], logged[-1]
    return (last["step"] - first["step"]) / (last["time"] - first["time"])


def main() -> int:
    rate = None
    for precision in ("bf16", "fp32"):
        probe = f"/tmp/probe-{precision}"
        shutil.rmtree(probe, ignore_errors=True)
        start = time.time()
        done = subprocess.run(command(probe, 200, precision, 10**6), capture_output=True, text=True,
                              timeout=max(30, END - time.time() - 60))
        say(f"probe {precision}: exit {done.returncode} in {time.time() - start:.0f} s; "
            f"{(done.stdout + done.stderr).strip()[-400:]}")
        if done.returncode == 0:
            rate = steps_per_second(probe)
            break
    if rate is None:
        return 1
    left = END - time.time() - 50  # start-up, validations, the last writes
    steps = max(50, int(rate * left * 0.85 / 50) * 50)
    every = max(50, steps // 16 // 50 * 50)
    say(f"{rate:.2f} step/s ({precision}, batch {BATCH}); {left:.0f} s left: {steps} steps, checkpoint every {every}")
    run = Path("/tmp/run")
    shutil.rmtree(run, ignore_errors=True)
    proc = subprocess.Popen(command(str(run), steps, precision, every), stdout=REPORT, stderr=subprocess.STDOUT)
    try:
        proc.wait(timeout=max(10, END - time.time() - 15))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        say("run cut at the deadline: its last checkpoint's weights are what came back")
    say(f"run exit {proc.returncode}")
    for name in ("log.jsonl", "config.json", f"{NAME}.safetensors", f"{NAME}-best.safetensors"):
        if (run / name).is_file():
            shutil.copy(run / name, OUT / name)
    grids = sorted((run / "samples").glob("*.png"))
    if grids:
        shutil.copy(grids[-1], OUT / f"samples-{grids[-1].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
