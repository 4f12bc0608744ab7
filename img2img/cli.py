"""Command line: ``img2img train | predict | eval | export | tasks | new-task | app`` (argparse; see DESCRIPTION)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import traceback
from pathlib import Path
from typing import Any, Sequence

from .errors import ConfigError, DataError, Img2ImgError

EXIT_USER_ERROR = 2
DESCRIPTION = ("Image-to-image translation with a conditional GAN beside its MSE-regression baseline; tasks are "
               "plugins (img2img tasks). Every user error is one line on stderr and a non-zero exit code; --debug "
               "shows the traceback.")
EVAL_DEFAULT_LIMIT = 100  # 100 images at 128 px: ~1-3 minutes on a 2-core CPU (12,800 SWD patches per level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except Img2ImgError as exc:
        _fail(str(exc), args.debug)
    except KeyboardInterrupt:
        print("img2img: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine's doing (disk full, not a folder, permissions): one line, not a bug
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}", args.debug)
    except Exception as exc:  # a bug of ours: still one line, with the way to the traceback
        _fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", args.debug)
    return EXIT_USER_ERROR


def _fail(message: str, debug: bool) -> None:
    if debug:
        traceback.print_exc()
    print(f"img2img: error: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks")
    parser = argparse.ArgumentParser(prog="img2img", description=DESCRIPTION, parents=[common])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    train = sub.add_parser("train", parents=[common], help="train a cgan or its regression baseline",
                           description="Train a cGAN (samples from p(x|y)) or its MSE-regression baseline (E[x|y]) "
                                       "for one task. Every option is also a config key (--config FILE, --set "
                                       "KEY=VALUE); docs/cli.md lists them with examples.")
    data = train.add_argument_group("data")
    data.add_argument("--task", help="task name (see `img2img tasks`)")
    data.add_argument("--data", action="append",
                      help="data folder (default: the task's embedded procedural dataset); repeat it to train on "
                           "several folders together, each keeping its own validation split")
    data.add_argument("--size", type=int, help="training crop size in px (default 128)")
    data.add_argument("--batch-size", type=int, help="images per step (default 4)")
    data.add_argument("--num-workers", type=int, help="data-loader worker processes")
    model = train.add_argument_group("model")
    model.add_argument("--model", choices=["cgan", "regression"], help="cgan (default) or the MSE baseline")
    model.add_argument("--noise", type=int, metavar="NZ", help="latent size of the cgan generator (0 = deterministic)")
    model.add_argument("--init", metavar="WEIGHTS",
                       help="fine-tune: start the generator from these .safetensors weights of the same task (their "
                            "architecture is used; the discriminator starts fresh), e.g. weights/uncrop-cgan.safetensors")
    config = train.add_argument_group("config and losses",
                                      "the architecture, losses and discriminator are config keys: "
                                      "--set generator.ngf=32, --set loss.l1_weight=30, --set discriminator.kind=both")
    config.add_argument("--config", help="a .json or .toml config file")
    config.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any config key, e.g. generator.ngf=32 or task_options.mask=bands")
    schedule = train.add_argument_group("schedule")
    length = schedule.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="generator updates (default 2000)")
    length.add_argument("--epochs", type=int, help="passes over the training images, instead of --steps")
    schedule.add_argument("--until", type=int, metavar="STEP",
                          help="stop at this step of the schedule (checkpoint and weights written there); --resume "
                               "goes on from it, and the schedule (learning-rate decay) is the full run's")
    validation = train.add_argument_group("validation")
    validation.add_argument("--val-fraction", type=float,
                            help="share of the files held out for validation, chosen by file name (default 0.1)")
    output = train.add_argument_group("output")
    output.add_argument("--out", help="run folder (default runs/TASK-MODEL, numbered if taken)")
    output.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    output.add_argument("--sample-every", type=int, help="steps between sample grids")
    output.add_argument("--checkpoint-every", type=int, help="steps between checkpoints (and validations)")
    output.add_argument("--tensorboard", action="store_true", default=None, help="also log to TensorBoard")
    output.add_argument("--quiet", action="store_true", help="no progress bar")
    run = train.add_argument_group("run")
    run.add_argument("--seed", type=int, help="every step's randomness derives from (seed, step)")
    run.add_argument("--precision", choices=["auto", "bf16", "fp16", "fp32"],
                     help="auto: bf16 where the hardware has native bf16, else fp32")
    run.add_argument("--device", help="auto, cpu, cuda, cuda:N")
    run.add_argument("--threads", type=int, help="torch threads per process (default: one per core; 1 is "
                     "faster on a busy small machine, see docs/performance.md)")
    train.set_defaults(func=cmd_train)

    predict = sub.add_parser("predict", parents=[common], help="translate an image or a folder of images")
    predict.add_argument("--task", required=True)
    predict.add_argument("--weights", help="a .safetensors file (default: the shipped weights for --model)")
    predict.add_argument("--model", choices=["cgan", "regression"], default="cgan")
    predict.add_argument("--input", required=True, help="an image file or a folder of images")
    predict.add_argument("--output", required=True, help="output file (for one input) or folder")
    predict.add_argument("--samples", type=int, default=1, help="K samples per input (cgan)")
    predict.add_argument("--seed", type=int, default=0)
    predict.add_argument("--noise-scale", type=float, default=1.0)
    predict.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                         help="task input control, e.g. sides=left+right amount=0.3 for uncrop")
    predict.add_argument("--device", default="auto")
    predict.add_argument("--backend", choices=["auto", "torch", "onnx"], default="auto",
                         help="auto: ONNX Runtime on the CPU when installed (faster), else torch; "
                              "an .onnx --weights file always uses ONNX Runtime")
    predict.add_argument("--max-side", type=int, default=None, metavar="PX",
                         help="longest side the generator runs at; larger inputs are scaled down for it and the "
                              "output scaled back (default: the task's choice, e.g. uncrop paints at its "
                              "training size; 0 = always full resolution)")
    predict.add_argument("--realism", type=float, default=None, metavar="A",
                         help="a cGAN fine-tuned from its MSE baseline only: 0 = the baseline, 1 = the cGAN, between "
                              "= their weight interpolation (runs with torch)")
    predict.add_argument("--baseline", metavar="FILE",
                         help="with --realism: the baseline the cGAN was fine-tuned from (default: "
                              "TASK-regression.safetensors beside the cGAN's weights)")
    predict.add_argument("--force", action="store_true", help="overwrite existing output files")
    predict.set_defaults(func=cmd_predict)

    evaluate = sub.add_parser("eval", parents=[common], help="compare the cgan with its regression baseline")
    evaluate.add_argument("--task", required=True)
    evaluate.add_argument("--data", help="data folder (default: the task's embedded procedural dataset)")
    evaluate.add_argument("--weights-dir", help="folder with TASK-cgan/TASK-regression.safetensors (default weights/)")
    evaluate.add_argument("--cgan", help="cgan .safetensors file (overrides --weights-dir)")
    evaluate.add_argument("--regression", help="regression .safetensors file (overrides --weights-dir)")
    evaluate.add_argument("--samples", type=int, default=8, help="cgan samples per input (default 8)")
    evaluate.add_argument("--size", type=int,
                          help="image size in px: each image scaled and centre-cropped to SIZE x SIZE (default: the "
                               "cgan's training size); 0 = every image at its native size, the generator at full "
                               "resolution")
    evaluate.add_argument("--max-side", type=int, metavar="PX",
                          help="with --size 0: images whose longest side exceeds PX are scaled down to it first, so "
                               "one huge photo cannot exhaust memory (default 1024; 0 = no cap)")
    evaluate.add_argument("--split", choices=("auto", "val", "all"), default="auto",
                          help="auto (default): the validation split when --data is the folder the weights were "
                               "trained on, every image of any other folder (held-out photos); val / all force it")
    evaluate.add_argument("--limit", type=int, default=EVAL_DEFAULT_LIMIT,
                          help=f"images to use, spread over the folder (default {EVAL_DEFAULT_LIMIT}; 0 = all)")
    evaluate.add_argument("--json", dest="json_out", metavar="OUT", help="also write the full report as JSON")
    evaluate.add_argument("--grid", metavar="OUT.png",
                          help="comparison grid: condition | regression | cgan samples | target, one input per row "
                               "(at --size 0: the central training-size square of each image)")
    evaluate.add_argument("--reference", metavar="PHOTOS",
                          help="folder of real photos: --data then holds inputs without targets (e.g. hand-drawn "
                               "sketches); realism and diversity are measured, paired metrics are n/a")
    evaluate.add_argument("--fid-weights", metavar="FILE",
                          help="TorchScript feature extractor for FID/KID (299 px [0,1] images -> (N, D) features)")
    evaluate.add_argument("--task-option", action="append", default=[], metavar="NAME=VALUE",
                          help="override one of the task's options for this evaluation (repeatable), e.g. "
                               "mask=palette to score uncrop on one-side 50%% masks only; `img2img tasks` lists them")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(func=cmd_eval)

    export = sub.add_parser("export", parents=[common], help="export a generator to ONNX (needs img2img[export])")
    export.add_argument("--task", required=True)
    export.add_argument("--model", choices=["cgan", "regression"], default="cgan")
    export.add_argument("--weights", help="a .safetensors file (default: the shipped weights for --model)")
    export.add_argument("--format", choices=["onnx"], default="onnx")
    export.add_argument("--out", required=True, help="output .onnx file")
    export.add_argument("--force", action="store_true", help="overwrite an existing --out")
    export.set_defaults(func=cmd_export)

    tasks = sub.add_parser("tasks", parents=[common], help="list registered tasks and broken plugins; "
                           "with NAME, one task's options")
    tasks.add_argument("name", nargs="?", metavar="NAME", help="show this task's options and their defaults")
    tasks.add_argument("--json", action="store_true", help="machine-readable output")
    tasks.set_defaults(func=cmd_tasks)

    new_task = sub.add_parser("new-task", parents=[common], help="create a task plugin package to start from")
    new_task.add_argument("name", metavar="NAME", help="task name: lowercase letters, digits, '-' or '_'")
    new_task.add_argument("--dir", help="folder to create (default ./img2img-NAME); must not exist or be empty")
    new_task.set_defaults(func=cmd_new_task)

    app = sub.add_parser("app", parents=[common], help="serve the Gradio demo (needs img2img[app])")
    app.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    app.add_argument("--port", type=int, default=7860)
    app.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    app.add_argument("--weights-dir", help="folder of TASK-cgan/TASK-regression .safetensors (default weights/)")
    app.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    app.set_defaults(func=cmd_app)
    return parser


# -- train ---------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from .config import apply_dict, data_folders, load_config_file, set_dotted, task_config
    from .engine.trainer import Trainer
    from .plugins import load_plugins

    if args.until is not None and args.until <= 0:
        raise ConfigError(f"--until must be > 0, got {args.until}")
    file_cfg = load_config_file(args.config) if args.config else {}
    task_name = args.task or file_cfg.get("task")
    if not task_name:
        raise ConfigError("--task is required (see `img2img tasks`)")
    task = load_plugins().get(task_name)

    cfg = task_config(task, file_cfg)
    data = args.data[0] if args.data and len(args.data) == 1 else args.data  # one folder stays a plain string
    flags = {"data": data, "model": args.model, "size": args.size, "batch_size": args.batch_size,
             "steps": args.steps, "epochs": args.epochs, "seed": args.seed, "precision": args.precision,
             "device": args.device, "num_workers": args.num_workers, "threads": args.threads, "val_fraction": args.val_fraction,
             "sample_every": args.sample_every, "checkpoint_every": args.checkpoint_every,
             "tensorboard": args.tensorboard, "init": args.init}
    apply_dict(cfg, {k: v for k, v in flags.items() if v is not None})
    if args.steps is not None:
        cfg.epochs = None
    if args.noise is not None:
        cfg.generator.nz = args.noise
    for assignment in args.set:
        set_dotted(cfg, assignment)
    cfg.task = task_name
    for folder in data_folders(cfg.data):
        if not Path(folder).is_dir():
            raise DataError(f"data folder not found: {folder}")

    out = _run_dir(args.out, cfg, args.resume)
    trainer = Trainer(cfg, task, out, resume=args.resume, progress=not args.quiet)
    print(trainer.summary(), file=sys.stderr)
    if args.resume and trainer.step:
        print(f"resuming {out} at step {trainer.step}", file=sys.stderr)
    weights = trainer.fit(until=args.until)
    best = trainer.validation.best
    best_file = weights.with_name(weights.stem + "-best.safetensors")
    best_text = f"; best {best_file} (step {best['step']}, {best['key']} {best['value']:.4g})" if best else ""
    steps = f"{trainer.step} steps" if trainer.step >= trainer.steps else \
        f"stopped at step {trainer.step} of {trainer.steps} (--resume goes on)"
    print(f"done: {steps}; weights {weights}{best_text}; samples {out / 'samples'}; log {out / 'log.jsonl'}")
    return 0


def _run_dir(out: str | None, cfg: Any, resume: bool) -> Path:
    from .engine.checkpoint import list_checkpoints

    if out is None:
        base = Path("runs") / f"{cfg.task}-{cfg.model}"
        if resume:
            return base
        path, n = base, 2
        while path.exists():
            path, n = base.with_name(f"{base.name}-{n}"), n + 1
        return path
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} exists and is not a folder")
    has_run = bool(list_checkpoints(path / "checkpoints")) or (path / "log.jsonl").exists()
    if has_run and not resume:
        raise ConfigError(f"{path} already holds a training run; add --resume to continue it or choose another --out")
    if resume and not has_run:
        print(f"img2img: nothing to resume in {path}; starting a new run there", file=sys.stderr)
    return path


# -- predict ---------------------------------------------------------------------------------------
def cmd_predict(args: argparse.Namespace) -> int:
    from .data.io import list_images, load_image, pil_to_tensor, tensor_to_pil
    from .errors import UnreadableImageError
    from .inference import Translator, shipped_weights
    from .plugins import load_plugins

    if args.samples < 1 or args.samples > 64:
        raise ConfigError(f"--samples must be between 1 and 64, got {args.samples}")
    if args.baseline and args.realism is None:
        raise ConfigError("--baseline is the other end of --realism: give --realism A too")
    if args.realism is not None:
        from .realism import check_realism

        check_realism(args.realism)  # a bad value fails before any weights load
        if args.model != "cgan" and not args.weights:
            raise ConfigError("--realism moves from the baseline to the cGAN: use it with --model cgan")
    task = load_plugins().get(args.task)
    controls = _parse_options(args.option, task)
    weights = Path(args.weights) if args.weights else shipped_weights(args.task, args.model)
    source, target = Path(args.input), Path(args.output)
    if not source.exists():
        raise DataError(f"input not found: {source}")
    if source.is_dir():
        inputs = list_images(source)
        if not inputs:
            raise DataError(f"no images found in {source}")
        if target.exists() and not target.is_dir():
            raise ConfigError(f"--output {target} must be a folder when --input is a folder")
        outputs = [target / (p.relative_to(source).with_suffix("")) for p in inputs]
    else:
        inputs = [source]
        outputs = [target / source.stem if target.is_dir() else target.with_suffix("")]
    translator = Translator(task, weights, device=args.device, backend=args.backend,
                            max_side="auto" if args.max_side is None else args.max_side, realism=args.realism,
                            baseline=args.baseline)
    k = args.samples if translator.stochastic else 1

    plans = [(src, _output_names(dst, k)) for src, dst in zip(inputs, outputs)]
    for src, names in plans:
        for name in names:
            if name.resolve() == src.resolve():
                raise ConfigError(f"refusing to overwrite the input {src}")
            if name.exists() and not args.force:
                raise ConfigError(f"{name} exists; use --force to overwrite or choose another --output")
    written = skipped = 0
    for src, names in plans:
        try:
            image = pil_to_tensor(load_image(src)).unsqueeze(0)
        except UnreadableImageError as exc:
            print(f"img2img: skipping {exc}", file=sys.stderr)
            skipped += 1
            continue
        results = translator.translate(image, samples=k, seed=args.seed, noise_scale=args.noise_scale, **controls)
        for name, tensor in zip(names, results):
            name.parent.mkdir(parents=True, exist_ok=True)
            tensor_to_pil(tensor.cpu()).save(name)
            written += 1
    realism = f" at realism {translator.realism:g}" if translator.realism is not None else ""
    print(f"wrote {written} image(s) with {translator.weights.name}{realism}"
          + (f"; skipped {skipped} unreadable" if skipped else ""))
    return 0 if written else EXIT_USER_ERROR


def _output_names(stem_path: Path, k: int) -> list[Path]:
    if k == 1:
        return [stem_path.with_name(stem_path.name + ".png")]
    return [stem_path.with_name(f"{stem_path.name}_{i}.png") for i in range(k)]


def _parse_options(options: list[str], task: Any) -> dict[str, Any]:
    """``--option NAME=VALUE`` strings -> every control of the task, converted (checked before any weights load)."""
    from .task import resolve_controls

    return resolve_controls(task, _name_values(options, "--option"))


def _name_values(items: list[str], flag: str) -> dict[str, str]:
    """Repeated ``flag NAME=VALUE`` strings -> {NAME: VALUE} (values as typed; a missing "=" is one line)."""
    out: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"{flag} expects NAME=VALUE, got '{item}'")
        name, value = item.split("=", 1)
        out[name.strip()] = value
    return out


# -- eval ------------------------------------------------------------------------------------------
def cmd_eval(args: argparse.Namespace) -> int:
    from .config import parse_scalar
    from .evaluate import evaluate
    from .plugins import load_plugins

    if not 1 <= args.samples <= 64:
        raise ConfigError(f"--samples must be between 1 and 64, got {args.samples}")
    if args.limit < 0:
        raise ConfigError(f"--limit must be 0 (all) or positive, got {args.limit}")
    if args.size is not None and args.size != 0 and args.size < 16:
        raise ConfigError(f"--size must be at least 16 px, or 0 for each image at its native size; got {args.size}")
    if args.data is not None and not Path(args.data).is_dir():
        raise DataError(f"data folder not found: {args.data}")
    task = load_plugins().get(args.task)
    task_options = {name: parse_scalar(value) for name, value in _name_values(args.task_option, "--task-option").items()}
    report = evaluate(task, args.data, args.weights_dir, cgan=args.cgan, regression=args.regression,
                      samples=args.samples, size=args.size, limit=args.limit or None, seed=args.seed,
                      device=args.device, fid_weights=args.fid_weights, grid=args.grid, split=args.split,
                      reference=args.reference, progress=not args.quiet, max_side=args.max_side,
                      task_options=task_options)
    print(report.table())
    if args.json_out:
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report.to_json(), encoding="utf-8")
    # Timings go to stderr: stdout stays identical between two runs with the same arguments.
    wrote = [p for p in (args.json_out, report.grid) if p]
    print(f"evaluated in {report.seconds['total']:.1f} s" + (f"; wrote {', '.join(wrote)}" if wrote else ""),
          file=sys.stderr)
    return 0


# -- export ------------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from .export import export_onnx, max_abs_diff, onnxruntime_available
    from .inference import shipped_weights
    from .plugins import load_plugins
    from .weights import load_generator

    task = load_plugins().get(args.task)
    weights = Path(args.weights) if args.weights else shipped_weights(args.task, args.model)
    out = Path(args.out)
    if out.suffix != ".onnx":
        raise ConfigError(f"--out must end in .onnx, got {out}")
    if out.exists() and not args.force:
        raise ConfigError(f"{out} exists; use --force to overwrite or choose another --out")
    generator, info = load_generator(weights, expected_task=task.name)
    export_onnx(generator, info, out)  # with --weights, the file's metadata says cgan or regression
    check = "not verified: onnxruntime is not installed"
    if onnxruntime_available():
        # Two non-square sizes that need padding: checks the dynamic H x W path, not only the traced size.
        check = f"max |torch - onnxruntime| = {max_abs_diff(generator, out):.2e}"
    print(f"wrote {out} ({info.task}/{info.model}, inputs y{' and z' if generator.nz else ''}, dynamic batch/H/W); "
          f"{check}")
    return 0


# -- tasks -------------------------------------------------------------------------------------------
def cmd_tasks(args: argparse.Namespace) -> int:
    from .plugins import load_plugins

    host = load_plugins()
    rows = [{"name": n, "description": i.task.description, "plugin": i.plugin, "version": i.version,
             "input": i.task.app.input_kind, "status": "ok", "options": dict(i.task.default_options),
             "option_help": dict(i.task.option_help), "controls": [dataclasses.asdict(c) for c in i.task.app.controls]}
            for n, i in sorted(host.tasks.items())]
    rows += [{"name": None, "plugin": b.plugin, "status": "broken", "error": b.error} for b in host.broken]
    if args.name:
        return _show_task(args.name, rows, args.json)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no tasks registered (is img2img installed? `pip install -e .`)")
        return 0
    ok = [r for r in rows if r["status"] == "ok"]
    table = [("TASK", "PLUGIN", "VERSION", "DESCRIPTION")] + [(r["name"], r["plugin"], r["version"], r["description"]) for r in ok]
    widths = [max(len(str(row[i])) for row in table) for i in range(3)]
    for row in table:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    for row in rows:
        if row["status"] == "broken":
            print(f"BROKEN  {row['plugin']}: {row['error']}")
    return 0


def _show_task(name: str, rows: list[dict], as_json: bool) -> int:
    row = next((r for r in rows if r["name"] == name), None)
    if row is None:
        known = ", ".join(r["name"] for r in rows if r["name"]) or "none"
        raise ConfigError(f"unknown task '{name}' (registered: {known})")
    if as_json:
        print(json.dumps(row, indent=2))
        return 0
    print(f"{name}: {row['description']}\nplugin {row['plugin']} {row['version']}; app input: {row['input']}")
    options = {k: (v if isinstance(v, str) else json.dumps(v), row["option_help"].get(k, "")) for k, v in row["options"].items()}
    controls = {c["name"]: (str(c["default"]).lower() if isinstance(c["default"], bool) else str(c["default"]),
                            c["label"] + (f" ({', '.join(map(str, c['choices']))})" if c["choices"] else
                                          f" ({c['minimum']:g}-{c['maximum']:g})" if c["kind"] == "slider" else ""))
                for c in row["controls"]}
    for title, entries in (("options (train --set task_options.NAME=VALUE, eval --task-option NAME=VALUE)", options),
                           ("controls (predict --option NAME=VALUE, the app's widgets)", controls)):
        print(f"{title}:" + ("" if entries else " none"))
        width = max((len(f"{k}={v}") for k, (v, _) in entries.items()), default=0)
        for key, (value, text) in entries.items():
            print(f"  {f'{key}={value}'.ljust(width)}  {text}".rstrip())
    return 0


# -- app -----------------------------------------------------------------------------------------------
def cmd_app(args: argparse.Namespace) -> int:
    # gradio is an optional extra, imported by the app's ui only: every other command works without it.
    try:
        from .app.ui import main as serve
    except ImportError as exc:
        raise Img2ImgError("the app needs gradio: pip install 'img2img[app]'") from exc

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    if args.weights_dir and not Path(args.weights_dir).is_dir():
        raise ConfigError(f"--weights-dir {args.weights_dir} is not a folder")
    serve(host=args.host, port=args.port, share=args.share, weights_dir=args.weights_dir, device=args.device)
    return 0


# -- new-task --------------------------------------------------------------------------------------------
def cmd_new_task(args: argparse.Namespace) -> int:
    from .scaffold import plugin_names, scaffold_plugin

    names = plugin_names(args.name)
    target = scaffold_plugin(args.name, args.dir)
    print(f"created {target} (task '{names.task}', package {names.package}, class {names.class_name})")
    print("next:")
    print(f"  pip install -e '{target}[test]'   # registers the task through its entry point")
    print(f"  pytest {target / 'tests'}        # the conformance kit (img2img.testing.check_task)")
    print(f"  img2img train --task {names.task} --size 64 --steps 200")
    return 0


if __name__ == "__main__":
    sys.exit(main())
