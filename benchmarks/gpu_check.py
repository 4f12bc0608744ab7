"""The whole toolkit on a GPU in one command (not a test): the check to run on a new GPU machine.

    .venv/bin/python benchmarks/gpu_check.py [--out /tmp/gpu-check] [--steps 200] [--size 128]
    .venv/bin/python benchmarks/gpu_check.py --dry-run      # the same lines on the CPU, tiny (the suite runs this)

For every registered task it trains the cGAN and the MSE baseline briefly under bf16 autocast, then: kills one
training process mid-run and resumes it, predicts through the CLI, evaluates, exports ONNX with its parity
check, runs the app's generate() on the device, and with two or more GPUs trains with 2 nccl processes under
torchrun. It prints one table: per line pass/fail, step/s or ms per image, peak GPU memory and wall time.
Exit code 1 if a line failed. Lines run task by task (train both models, predict, eval, export, app; the kill and
resume after the first task), each printed as it ends, and the table so far is rewritten to OUT/table.md after
every line, so a run cut short keeps its numbers.

Time: on an H200 (torch 2.11+cu130) a training line of 100 steps took about 25 s, model construction and the
closing validation included, so every task at the defaults (200 steps) takes well over 8 minutes. With little
time, name the tasks: `--steps 100 --tasks uncrop,sketch2photo` (docs/performance.md, "GPU").
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

from img2img.config import TrainConfig  # noqa: E402
from img2img.errors import ConfigError, DataError  # noqa: E402


@dataclass
class Line:
    check: str
    status: str = "pass"  # pass | fail | skip
    rate: str = ""  # step/s or ms per image
    peak_mb: float | None = None
    seconds: float = 0.0
    detail: str = ""


@dataclass
class Settings:
    device: torch.device
    precision: str
    size: int
    batch: int
    steps: int
    dry_run: bool
    out: Path
    lines: list[Line] = field(default_factory=list)

    @property
    def cuda(self) -> bool:
        return self.device.type == "cuda"

    def tiny(self) -> list[str]:
        """--set overrides that make the networks tiny for the dry run (none on the GPU)."""
        if not self.dry_run:
            return []
        return ["generator.ngf=8", "generator.max_mult=2", "discriminator.ndf=8", "discriminator.n_layers=2"]


@contextlib.contextmanager
def line(s: Settings, check: str) -> Iterator[Line]:
    """Records one table line: time, peak GPU memory, and a failure as its first line instead of a traceback."""
    row = Line(check)
    if s.cuda:
        torch.cuda.synchronize(s.device)
        torch.cuda.reset_peak_memory_stats(s.device)
    start = time.perf_counter()
    try:
        yield row
    except Exception as exc:  # noqa: BLE001 - every failure is a table line, the check goes on
        row.status = "fail"
        row.detail = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0][:160] if str(exc).strip() else ''}"
    row.seconds = time.perf_counter() - start
    if s.cuda:
        row.peak_mb = torch.cuda.max_memory_allocated(s.device) / 2**20
    s.lines.append(row)
    peak = f", peak {row.peak_mb:.0f} MB" if row.peak_mb is not None else ""
    print(f"  {row.status:4}  {check}  {row.rate} ({row.seconds:.1f} s{peak})  {row.detail}", file=sys.stderr,
          flush=True)
    (s.out / "table.md").write_text(table(s) + "\n")  # so far: a run cut short still leaves its numbers


def pairs_folder(root: Path, size: int, count: int = 12) -> Path:
    """A|B pairs drawn by code (A: a procedural scene, B: the same scene in greys) for tasks that need files."""
    from img2img.data.io import tensor_to_pil
    from img2img.data.procedural import render_scene

    root.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        a = render_scene(i, size, size)
        b = a.mean(dim=0, keepdim=True).expand(3, -1, -1)
        tensor_to_pil(torch.cat([a, b], dim=2) * 2 - 1).save(root / f"{i:03d}.png")
    return root


def train_config(s: Settings, task, model: str, data: Path | None) -> TrainConfig:
    """As `img2img train` builds it: the task's defaults, then this check's settings."""
    from img2img.config import apply_dict, set_dotted, set_value

    cfg = TrainConfig(task=task.name)
    for key, value in task.defaults.items():
        set_value(cfg, key, value)
    apply_dict(cfg, {"model": model, "size": s.size, "batch_size": s.batch, "steps": s.steps, "epochs": None,
                     "precision": s.precision, "device": str(s.device), "num_workers": 0 if s.dry_run else 4,
                     "sample_every": 10**9, "checkpoint_every": s.steps, "log_every": max(1, s.steps // 4)})
    cfg.data = str(data) if data else None
    if data and "direction" in task.default_options:
        cfg.task_options["direction"] = "AtoB"
    for override in s.tiny():
        set_dotted(cfg, override)
    return cfg


def train_task(s: Settings, host, name: str) -> Path:
    """Brief cGAN + baseline runs of one task; returns its run folder (both weights files inside)."""
    from img2img.engine.trainer import Trainer

    task = host.get(name)
    out = s.out / "runs" / name
    for model in ("cgan", "regression"):
        with line(s, f"train {name} {model} ({s.precision})") as row:
            data = None
            try:
                trainer = Trainer(train_config(s, task, model, None), task, out, progress=False)
            except (ConfigError, DataError):  # a task that needs files (paired A|B): pairs drawn by code
                data = s.out / "pairs"
                if not data.is_dir():
                    pairs_folder(data, s.size)
                trainer = Trainer(train_config(s, task, model, data), task, out, progress=False)
            warm = max(1, s.steps // 10)
            trainer.fit(until=warm)  # warm-up steps (cuDNN autotuning, allocator) are not timed
            _sync(s)
            start = time.perf_counter()
            trainer.fit()
            _sync(s)
            row.rate = f"{(s.steps - warm) / (time.perf_counter() - start):.1f} step/s"
            row.detail = f"batch {s.batch}, {s.size} px" + (f", data {data.name}/" if data else "")
    return out


def kill_and_resume(s: Settings) -> None:
    """A real training process, SIGKILLed after its first checkpoint, then resumed to the end."""
    out = s.out / "killed"
    every = max(2, s.steps // 4)
    cmd = [sys.executable, "-m", "img2img", "train", "--task", "uncrop", "--out", str(out), "--steps", str(s.steps),
           "--size", str(s.size), "--batch-size", str(s.batch), "--precision", s.precision, "--device", str(s.device),
           "--checkpoint-every", str(every), "--sample-every", str(10**9), "--quiet", "--num-workers", "0"]
    for override in s.tiny():
        cmd += ["--set", override]
    with line(s, "kill a training run, resume it") as row:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 300
        while not list((out / "checkpoints").glob("step_*.pt")) and proc.poll() is None:
            if time.monotonic() > deadline:
                raise TimeoutError("no checkpoint within 300 s")
            time.sleep(0.05)
        if proc.poll() is not None:
            raise RuntimeError(f"training ended before it could be killed: {proc.stdout.read()[-300:]}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        done = subprocess.run(cmd + ["--resume"], cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "resume failed")
        logged = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
        last = max(r.get("step", 0) for r in logged)
        if last != s.steps or not (out / "uncrop-cgan.safetensors").is_file():
            raise RuntimeError(f"resumed run ended at step {last}, not {s.steps}")
        row.detail = f"killed after the step-{every} checkpoint, resumed to step {s.steps}"


def cli(*argv: str) -> None:
    from img2img.cli import main

    with contextlib.redirect_stdout(sys.stderr):
        code = main(list(argv))
    if code:
        raise RuntimeError(f"img2img {argv[0]} exited with {code} (its message is above)")


def predict_eval_export(s: Settings, runs: dict[str, Path], host) -> None:
    from img2img.data.io import tensor_to_pil
    from img2img.inference import Translator

    device = str(s.device)
    for name, run in runs.items():
        task = host.get(name)
        cgan, regression = run / f"{name}-cgan.safetensors", run / f"{name}-regression.safetensors"
        example = s.out / f"{name}-example.png"
        tensor_to_pil(task.examples()[0][0]).save(example)
        with line(s, f"predict {name} (4 samples, CLI)") as row:
            cli("predict", "--task", name, "--weights", str(cgan), "--input", str(example), "--output",
                str(s.out / f"{name}-predicted.png"), "--samples", "4", "--device", device, "--backend", "torch",
                "--force")
            translator = Translator(task, cgan, device=s.device, backend="torch")
            y = task.prepare_input(task.examples()[0]).to(s.device)
            times = []
            for i in range(6):
                _sync(s)
                start = time.perf_counter()
                translator.sample(y, 4, seed=i)
                _sync(s)
                times.append(time.perf_counter() - start)
            row.rate = f"{1000 * statistics.median(times[1:]) / 4:.1f} ms/image"
            row.detail = f"{tuple(y.shape[-2:])} px, torch, median of 5"
        with line(s, f"eval {name}") as row:
            report = s.out / f"{name}-eval.json"
            cli("eval", "--task", name, "--cgan", str(cgan), "--regression", str(regression), "--device", device,
                "--limit", "8", "--samples", "4", "--split", "all", "--json", str(report), "--quiet",
                *(["--data", str(s.out / "pairs")] if (s.out / "pairs").is_dir() and _needs_files(task) else []))
            numbers = json.loads(report.read_text())
            c, r = numbers["models"]["cgan"], numbers["models"]["regression"]
            row.detail = (f"{numbers['images']} images: PSNR cGAN {c['psnr']:.2f} / baseline {r['psnr']:.2f}, "
                          f"SWD {c['swd']:.1f} / {r['swd']:.1f}")
        with line(s, f"export {name} ONNX + parity") as row:
            cli("export", "--task", name, "--weights", str(cgan), "--out", str(s.out / f"{name}.onnx"), "--force")
            row.detail = "parity checked by export"


def _needs_files(task) -> bool:
    try:
        task.build_dataset(None, "val", 32)
    except (ConfigError, DataError):
        return True
    return False


def app_generate(s: Settings, runs: dict[str, Path], host) -> None:
    from img2img.app.service import AppService

    for name, run in runs.items():
        with line(s, f"app generate {name} on {s.device.type}") as row:
            service = AppService(host, weights_dir=run, device=str(s.device), backend="torch")
            example = service.examples(name)[0]
            service.generate(name, example, k=4)  # loads the models
            result = service.generate(name, example, k=4, seed=1)
            if len(result.samples) != 4 or result.baseline is None:
                raise RuntimeError("generate did not return 4 samples and a baseline")
            row.rate = f"{result.timings_ms.get('cGAN', float('nan')) / 4:.1f} ms/image"
            row.detail = result.device


def nccl_run(s: Settings) -> None:
    if not s.cuda or torch.cuda.device_count() < 2:
        s.lines.append(Line("torchrun 2 processes (nccl)", "skip",
                            detail=f"{torch.cuda.device_count() if s.cuda else 0} GPU(s); needs 2"))
        return
    out = s.out / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
           "--master_addr=127.0.0.1", "--master_port=29561", "-m", "img2img", "train", "--task", "uncrop",
           "--out", str(out), "--steps", str(s.steps), "--size", str(s.size), "--batch-size", str(s.batch),
           "--precision", s.precision, "--quiet", "--sample-every", str(10**9)]
    with line(s, "torchrun 2 processes (nccl)") as row:
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode or not (out / "uncrop-cgan.safetensors").is_file():
            raise RuntimeError((done.stderr.strip().splitlines() or ["torchrun failed"])[-1])
        row.rate = f"{s.steps / (time.perf_counter() - start):.1f} step/s (incl. start-up)"
        row.detail = f"global batch {2 * s.batch}"


def _sync(s: Settings) -> None:
    if s.cuda:
        torch.cuda.synchronize(s.device)


def table(s: Settings) -> str:
    gpu = torch.cuda.get_device_name(s.device) if s.cuda else "none (dry run on the CPU)"
    out = [f"Device: {s.device} ({gpu}); torch {torch.__version__}; precision {s.precision}; {s.size} px, batch "
           f"{s.batch}, {s.steps} steps per run", "",
           "| check | result | rate | peak GPU MB | s | detail |", "|---|---|---|---|---|---|"]
    for r in s.lines:
        peak = f"{r.peak_mb:.0f}" if r.peak_mb is not None else "-"
        out.append(f"| {r.check} | {r.status} | {r.rate} | {peak} | {r.seconds:.1f} | {r.detail} |")
    failed = sum(r.status == "fail" for r in s.lines)
    total = sum(r.status != "skip" for r in s.lines)
    out += ["", f"{total - failed} passed, {failed} failed, {len(s.lines) - total} skipped; "
                f"{sum(r.seconds for r in s.lines):.0f} s"]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="every line on the CPU with tiny networks")
    parser.add_argument("--out", default="/tmp/img2img-gpu-check", help="scratch folder (runs, exports)")
    parser.add_argument("--steps", type=int, help="steps per training run (default 200; dry run 4)")
    parser.add_argument("--size", type=int, help="image size (default 128; dry run 32)")
    parser.add_argument("--batch-size", type=int, help="batch size (default 16; dry run 2)")
    parser.add_argument("--tasks", help="comma-separated tasks (default: every registered task)")
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; use --dry-run to run the same lines on the CPU", file=sys.stderr)
        return 2
    from img2img.engine.precision import resolve_precision
    from img2img.plugins import load_plugins

    device = torch.device("cpu" if args.dry_run else "cuda")
    if args.dry_run:
        torch.set_num_threads(1)
    s = Settings(device=device, precision=resolve_precision("auto" if args.dry_run else "bf16", device),
                 size=args.size or (32 if args.dry_run else 128), batch=args.batch_size or (2 if args.dry_run else 16),
                 steps=args.steps or (4 if args.dry_run else 200), dry_run=args.dry_run, out=Path(args.out))
    s.out.mkdir(parents=True, exist_ok=True)
    # --tasks uses the plugin allow-list (entry-point names; the built-in tasks are registered under their own).
    host = load_plugins(allow=args.tasks.split(",") if args.tasks else None)
    # Task by task, every kind of line for each, so that a run cut short has still tried every path once.
    for i, name in enumerate(host.names()):
        runs = {name: train_task(s, host, name)}
        predict_eval_export(s, runs, host)
        app_generate(s, runs, host)
        if i == 0:
            kill_and_resume(s)
    nccl_run(s)
    print(table(s))
    return 1 if any(r.status == "fail" for r in s.lines) else 0


if __name__ == "__main__":
    raise SystemExit(main())
