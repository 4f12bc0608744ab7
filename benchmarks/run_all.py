"""All performance numbers of docs/performance.md in one run (not a test):

    .venv/bin/python benchmarks/run_all.py [--out benchmarks/results] [--quick]

Writes ``results.json`` and ``results.md`` under --out and prints the markdown. Parts:

1. Training images/s of candidate settings on ONE architecture (the "bench" config below), against the
   "paper defaults" run of that same architecture: eager, fp32, NCHW, torch's default thread count. Achieved
   FLOP/s (FLOPs of one step counted by torch.utils.flop_counter.FlopCounterMode) as a fraction of the best
   of a few large fp32 and bf16 matmuls measured in the same run.
2. The loader against the training step (benchmarks/loader_vs_step.py, in a subprocess).
3. Inference latency (median, p95) of the cGAN and the regression generator at 128/256/512, batch 1, torch
   and ONNX Runtime; peak RSS of training and of inference, each in its own subprocess (ru_maxrss).
4. The generator's training step (forward + backward of an L1 loss, batch 4, 128 px, one thread, fp32 and bf16
   where native) of each ``generator.encoder`` against today's default generator (weights/configs: U-Net ngf 32,
   channel cap 4x, resize upsampling, nz 8), in its own subprocess, the arms interleaved, medians over repeats.
   Alone: ``.venv/bin/python benchmarks/run_all.py --part generator-step --arg 9`` (9 repeats).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

from img2img.config import GeneratorConfig, TrainConfig  # noqa: E402
from img2img.engine.precision import cpu_has_native_bf16, resolve_precision  # noqa: E402

DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice before anything here changes it


# -- configs -------------------------------------------------------------------------------------------
def bench_config(size: int = 128, batch: int = 4) -> TrainConfig:
    """The pix2pix architecture at 128 px: U-Net ngf 64 (channel cap 8x), 70x70 PatchGAN ndf 64, batch norm
    in G and D, L1 100 + non-saturating GAN, no latent (pix2pix's G has none), dropout 0.5. Both the
    "paper defaults" run and every candidate train exactly this network; only how it runs differs."""
    cfg = TrainConfig(task="sketch2photo", size=size, batch_size=batch, steps=10**6, num_workers=0, precision="fp32")
    cfg.generator.ngf, cfg.generator.max_mult, cfg.generator.norm, cfg.generator.nz = 64, 8, "batch", 0
    cfg.discriminator.ndf, cfg.discriminator.n_layers, cfg.discriminator.norm = 64, 3, "batch"
    return cfg


def _trainer(cfg: TrainConfig, out: Path):
    from img2img.engine.trainer import Trainer
    from img2img.plugins import load_plugins

    return Trainer(cfg, load_plugins().get(cfg.task), out, progress=False)


def _timeit(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


# -- 1. training -------------------------------------------------------------------------------------------
def matmul_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 3) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    best = min(_timeit(lambda: torch.mm(a, b), repeats))
    return 2 * n**3 / best


def step_flops(trainer, batch: dict) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        trainer.train_step(iter([batch] * 4))
    return counter.get_total_flops()


def train_candidates(quick: bool, out: Path) -> dict[str, Any]:
    cfg = bench_config()
    batch_cache: dict[str, Any] = {}
    results = []

    def measure(name: str, threads: int, precision: str = "fp32", channels_last: bool = False,
                mkldnn: bool = True, compile_: bool = False, repeats: int = 3, warmup: int = 1) -> None:
        torch.set_num_threads(threads)
        c = bench_config()
        c.precision = precision
        trainer = _trainer(c, out / "train")
        if channels_last:
            for m in (trainer.G, trainer.D):
                m.to(memory_format=torch.channels_last)
        if compile_:
            trainer.G_ddp = torch.compile(trainer.G, dynamic=False)
            trainer.D_ddp = torch.compile(trainer.D, dynamic=False)
        if "batch" not in batch_cache:
            batch_cache["batch"] = next(trainer._batches())
        ready = batch_cache["batch"]
        if channels_last:
            ready = {k: v.contiguous(memory_format=torch.channels_last) if torch.is_tensor(v) and v.dim() == 4 else v
                     for k, v in ready.items()}
        flags = torch.backends.mkldnn.flags(enabled=mkldnn)
        row: dict[str, Any] = {"name": name, "threads": threads, "precision": precision, "channels_last": channels_last,
                               "mkldnn": mkldnn, "compile": compile_}
        try:
            with flags:
                start = time.perf_counter()
                times = _timeit(lambda: trainer.train_step(iter([ready] * 4)), repeats, warmup=warmup)
                row["wall_s"] = round(time.perf_counter() - start, 1)
            row["images_per_s"] = cfg.batch_size / statistics.median(times)
        except Exception as exc:  # torch.compile failures are a result too
            row["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        results.append(row)
        print(f"  {name}: {row.get('images_per_s', row.get('error'))}", file=sys.stderr, flush=True)

    reps = 2 if quick else 3
    # Without native bf16 every bf16 step is emulated (35x slower measured): one step each says enough.
    bf16_reps, bf16_warmup = (reps, 1) if cpu_has_native_bf16() else (1, 0)
    measure("paper defaults (eager fp32 NCHW, default threads)", DEFAULT_THREADS, repeats=reps)
    measure("fp32, 1 thread", 1, repeats=reps)
    measure("fp32, 1 thread, channels_last", 1, channels_last=True, repeats=reps)
    measure("fp32, 1 thread, mkldnn off", 1, mkldnn=False, repeats=reps)
    measure("bf16 autocast, 1 thread", 1, precision="bf16", repeats=bf16_reps, warmup=bf16_warmup)
    measure("bf16 autocast, default threads", DEFAULT_THREADS, precision="bf16", repeats=bf16_reps, warmup=bf16_warmup)
    measure("bf16 autocast, default threads, channels_last", DEFAULT_THREADS, precision="bf16", channels_last=True,
            repeats=bf16_reps, warmup=bf16_warmup)
    if DEFAULT_THREADS > 1:
        measure("fp32, default threads, channels_last", DEFAULT_THREADS, channels_last=True, repeats=reps)
    if not quick:
        measure("fp32, 1 thread, torch.compile(dynamic=False)", 1, compile_=True, repeats=reps)

    torch.set_num_threads(1)
    trainer = _trainer(bench_config(), out / "train")
    flops = step_flops(trainer, batch_cache["batch"])
    # Peaks on the whole machine (default threads), the most any candidate could reach. Emulated bf16 matmuls
    # are slow enough that one small one says it.
    torch.set_num_threads(DEFAULT_THREADS)
    peak32 = matmul_peak(torch.float32)
    peak16 = matmul_peak(torch.bfloat16) if cpu_has_native_bf16() else matmul_peak(torch.bfloat16, n=1024, repeats=1)
    base = results[0]["images_per_s"]
    ok = [r for r in results if "images_per_s" in r]
    fast = max(ok, key=lambda r: r["images_per_s"])
    for r in ok:
        r["vs_paper_defaults"] = r["images_per_s"] / base
        r["flop_per_s"] = flops * r["images_per_s"] / cfg.batch_size
        r["of_fp32_peak"] = r["flop_per_s"] / peak32
        r["of_bf16_peak"] = r["flop_per_s"] / peak16
    return {"architecture": "pix2pix U-Net ngf 64 + 70x70 PatchGAN ndf 64, batch norm, nz 0, 128 px, batch 4",
            "flops_per_step": flops, "matmul_peak_fp32": peak32, "matmul_peak_bf16": peak16,
            "fast_path": fast["name"], "candidates": results}


# -- 2. loader --------------------------------------------------------------------------------------------
def loader(quick: bool) -> dict[str, Any]:
    cmd = [sys.executable, str(ROOT / "benchmarks" / "loader_vs_step.py"), "--size", "128", "--batch", "4",
           "--workers", "1", "--batches", "6" if quick else "10"]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    rows = []
    for line in table[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append({"task": cells[0], "data": cells[1], "loader_img_s": float(cells[2]),
                     "step_img_s": float(cells[3]), "ratio": float(cells[4].rstrip("x"))})
    return {"rows": rows, "stderr_tail": done.stderr[-500:] if done.returncode else ""}


# -- 3. inference and memory (subprocesses) ----------------------------------------------------------------
def shipped_generator(nz: int):
    from img2img.models import UNetGenerator

    torch.manual_seed(0)
    cfg = GeneratorConfig(in_channels=3, out_channels=3, ngf=32, max_mult=4, nz=nz)  # weights/configs
    return UNetGenerator(cfg, size=128).eval()


def part_inference(repeats: int) -> dict[str, Any]:
    """Runs in its own process: latency of both generators, torch and ONNX Runtime."""
    from img2img.export import OnnxGenerator, export_onnx, onnxruntime_available
    from img2img.weights import WeightsInfo

    torch.set_num_threads(1)
    rows = []
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    for model, nz in (("cgan", 8), ("regression", 0)):
        g = shipped_generator(nz)
        runners: dict[str, Callable] = {"torch": g}
        if onnxruntime_available():
            path = export_onnx(g, WeightsInfo("bench", model, 128, 0, {}, {}, {}), tmp / f"bench-{model}.onnx")
            runners["onnxruntime"] = OnnxGenerator(path, threads=1)
        for size in (128, 256, 512):
            y = torch.rand(1, 3, size, size) * 2 - 1
            z = torch.randn(1, nz) if nz else None
            for backend, run in runners.items():
                with torch.inference_mode():
                    times = sorted(_timeit(lambda: run(y, z), repeats))
                rows.append({"model": model, "size": size, "backend": backend,
                             "median_ms": 1000 * statistics.median(times),
                             "p95_ms": 1000 * times[min(len(times) - 1, int(0.95 * len(times)))]})
    return {"rows": rows, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def part_train_rss(steps: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    cfg = bench_config()
    trainer = _trainer(cfg, Path(os.environ.get("TMPDIR", "/tmp")) / "img2img-bench-rss")
    batches = trainer._batches()
    for _ in range(steps):
        trainer.train_step(batches)
    return {"steps": steps, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def part_generator_step(repeats: int) -> dict[str, Any]:
    """Runs in its own process, one thread: the generator's forward + backward step, each arm against the
    default U-Net, interleaved so that a load change on a shared machine hits every arm alike."""
    from img2img.models import build_generator, param_groups

    torch.set_num_threads(1)
    torch.manual_seed(0)
    arms: dict[str, tuple[torch.nn.Module, torch.optim.Optimizer]] = {}
    for name, encoder, mult in (("unet", "unet", 1.0), ("lite0", "lite0", 0.1), ("lite0 frozen encoder", "lite0", 0.0)):
        cfg = GeneratorConfig(encoder=encoder, ngf=32, max_mult=4, nz=8, upsample="resize")  # weights/configs
        g = build_generator(cfg, size=128).train()  # random weights: the step costs the same
        arms[name] = (g, torch.optim.Adam(param_groups(g, 2e-4, mult), lr=2e-4))
    y, target, z = torch.rand(4, 3, 128, 128) * 2 - 1, torch.rand(4, 3, 128, 128) * 2 - 1, torch.randn(4, 8)
    precisions = ["fp32"] + (["bf16"] if cpu_has_native_bf16() else [])
    rows = []
    for precision in precisions:
        times: dict[str, list[float]] = {name: [] for name in arms}

        def step(g: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", torch.bfloat16, enabled=precision == "bf16"):
                loss = (g(y, z).float() - target).abs().mean()
            loss.backward()
            opt.step()

        for g, opt in arms.values():
            step(g, opt)  # warm-up
        for _ in range(repeats):
            for name, (g, opt) in arms.items():
                times[name] += _timeit(lambda: step(g, opt), 1, warmup=0)
        base = statistics.median(times["unet"])
        rows += [{"arm": name, "precision": precision, "median_s": statistics.median(t),
                  "vs_unet": statistics.median(t) / base,
                  "params_m": sum(p.numel() for p in arms[name][0].parameters()) / 1e6} for name, t in times.items()]
    return {"rows": rows, "repeats": repeats}


def in_subprocess(part: str, arg: int) -> dict[str, Any]:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--part", part, "--arg", str(arg)], capture_output=True,
                          text=True, env=env, cwd=ROOT, check=False)
    if done.returncode:
        return {"error": done.stderr[-800:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- report ----------------------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cores": os.cpu_count(), "torch": torch.__version__, "python": platform.python_version(),
            "default_threads": DEFAULT_THREADS, "load_avg": os.getloadavg(), "native_bf16": cpu_has_native_bf16(),
            "auto_precision": resolve_precision("auto", torch.device("cpu"))}


def markdown(r: dict[str, Any]) -> str:
    m, t = r["machine"], r["training"]
    kind = "native bf16 (AVX512-BF16/AMX)" if m["native_bf16"] else "no native bf16 (bf16 emulated)"
    out = [f"Machine: {m['cpu']}, {m['cores']} cores, {kind}, `--precision auto` picks {m['auto_precision']}; "
           f"torch {m['torch']}, default threads {m['default_threads']}, load average at start {m['load_avg'][0]:.1f}.", "",
           f"Training, {t['architecture']}; {t['flops_per_step'] / 1e9:.1f} GFLOP per step (G+D, forward+backward); "
           f"matmul peak fp32 {t['matmul_peak_fp32'] / 1e9:.1f} GFLOP/s, bf16 {t['matmul_peak_bf16'] / 1e9:.1f} GFLOP/s "
           f"({m['default_threads']} threads). Fast path: **{t['fast_path']}**.", "",
           "| candidate | img/s | vs paper defaults | GFLOP/s | % fp32 peak | % bf16 peak |", "|---|---|---|---|---|---|"]
    for c in t["candidates"]:
        if "error" in c:
            out.append(f"| {c['name']} | failed: {c['error']} | | | | |")
            continue
        out.append(f"| {c['name']} | {c['images_per_s']:.2f} | {c['vs_paper_defaults']:.2f}x | "
                   f"{c['flop_per_s'] / 1e9:.1f} | {100 * c['of_fp32_peak']:.0f}% | {100 * c['of_bf16_peak']:.0f}% |")
    out += ["", "Loader vs training step (benchmarks/loader_vs_step.py, shipped architecture, 128 px, batch 4, 1 worker):", "",
            "| task | data | loader img/s | step img/s | loader / step |", "|---|---|---|---|---|"]
    out += [f"| {x['task']} | {x['data']} | {x['loader_img_s']:.1f} | {x['step_img_s']:.1f} | {x['ratio']:.1f}x |"
            for x in r["loader"]["rows"]]
    inf = r["inference"]
    out += ["", "Inference, shipped architecture (ngf 32, depth 7), batch 1, 1 thread:", "",
            "| model | size | backend | median ms | p95 ms |", "|---|---|---|---|---|"]
    out += [f"| {x['model']} | {x['size']} | {x['backend']} | {x['median_ms']:.1f} | {x['p95_ms']:.1f} |"
            for x in inf.get("rows", [])]
    gen = r.get("generator_step", {})
    out += ["", "Generator training step (forward + backward + Adam, batch 4, 128 px, 1 thread; medians of "
            f"{gen.get('repeats')} interleaved repeats) against today's default U-Net:", "",
            "| generator | precision | params (M) | median s | vs U-Net |", "|---|---|---|---|---|"]
    out += [f"| {x['arm']} | {x['precision']} | {x['params_m']:.2f} | {x['median_s']:.3f} | {x['vs_unet']:.2f}x |"
            for x in gen.get("rows", [])]
    out += ["", f"Peak RSS: training {r['train_rss'].get('peak_rss_mb', float('nan')):.0f} MB "
            f"(bench architecture, {r['train_rss'].get('steps')} steps); inference {inf.get('peak_rss_mb', float('nan')):.0f} MB "
            "(both generators, torch + ONNX Runtime, up to 512 px)."]
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no torch.compile")
    parser.add_argument("--part", choices=["inference", "train-rss", "generator-step"], help=argparse.SUPPRESS)
    parser.add_argument("--arg", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.part == "inference":
        print(json.dumps(part_inference(args.arg)))
        return
    if args.part == "train-rss":
        print(json.dumps(part_train_rss(args.arg)))
        return
    if args.part == "generator-step":
        print(json.dumps(part_generator_step(args.arg or 9)))
        return
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine()}
    # The subprocess parts run first: a child's ru_maxrss starts from its parent's high-water mark (fork), so
    # they must start while this process is still small.
    print("inference, memory ...", file=sys.stderr, flush=True)
    report["inference"] = in_subprocess("inference", 7 if args.quick else 21)
    report["train_rss"] = in_subprocess("train-rss", 3)
    print("generator step ...", file=sys.stderr, flush=True)
    report["generator_step"] = in_subprocess("generator-step", 5 if args.quick else 15)
    print("training candidates ...", file=sys.stderr, flush=True)
    report["training"] = train_candidates(args.quick, Path("/tmp/img2img-bench"))
    print("loader ...", file=sys.stderr, flush=True)
    report["loader"] = loader(args.quick)
    (out / "results.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    table = markdown(report)
    (out / "results.md").write_text(table, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
