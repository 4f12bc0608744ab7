"""What each ``img2img`` subcommand does, given its parsed arguments (``parser.py`` declares them)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError, Img2ImgError

EXIT_USER_ERROR = 2
EVAL_DEFAULT_LIMIT = 100  # 100 images at 128 px: ~1-3 minutes on a 2-core CPU (12,800 SWD patches per level)


# -- train ---------------------------------------------------------------------------------------
def cmd_train(args: argparse.Namespace) -> int:
    from ..config import apply_dict, data_folders, load_config_file, set_dotted, task_config
    from ..engine.trainer import Trainer
    from ..plugins import load_plugins

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
    from ..engine.checkpoint import list_checkpoints

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
    from ..data.io import list_images, load_image, pil_to_tensor, tensor_to_pil
    from ..errors import UnreadableImageError
    from ..inference import Translator, shipped_weights
    from ..plugins import load_plugins

    if args.samples < 1 or args.samples > 64:
        raise ConfigError(f"--samples must be between 1 and 64, got {args.samples}")
    if args.baseline and args.realism is None:
        raise ConfigError("--baseline is the other end of --realism: give --realism A too")
    if args.realism is not None:
        from ..realism import check_realism

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
    from ..task import resolve_controls

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
    from ..config import parse_scalar
    from ..evaluate import evaluate
    from ..plugins import load_plugins

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
    realism = _realism_values(args.realism)
    kwargs = dict(data_dir=args.data, weights_dir=args.weights_dir, cgan=args.cgan, regression=args.regression,
                  samples=args.samples, size=args.size, limit=args.limit or None, seed=args.seed, device=args.device,
                  fid_weights=args.fid_weights, split=args.split, reference=args.reference, progress=not args.quiet,
                  max_side=args.max_side, task_options=task_options, work_scale=args.work_scale)
    if realism is not None and len(realism) > 1:
        return _eval_realism_curve(task, realism, kwargs, args)
    report = evaluate(task, **kwargs, grid=args.grid, grid_crop=args.grid_crop,
                      grid_crop_at=args.grid_crop_at or "center", realism=realism[0] if realism else None)
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


def _realism_values(raw: str | None) -> list[float] | None:
    """``--realism 0,0.5,1`` as numbers in [0, 1], each once, in the order given; a bad value is one line."""
    if raw is None:
        return None
    from ..realism import check_realism

    values = [check_realism(part.strip()) for part in raw.split(",") if part.strip()]
    if not values:
        raise ConfigError("--realism needs one or more values from 0 to 1, e.g. 0,0.25,0.5,0.75,1")
    if len(set(values)) != len(values):
        raise ConfigError(f"--realism names a value twice: {raw}")
    return values


def _eval_realism_curve(task: Any, values: list[float], kwargs: dict[str, Any], args: argparse.Namespace) -> int:
    """Several values of realism: one scoring per a on the same inputs, a table, the JSON and its curve PNG."""
    from ..evaluate import evaluate_realism
    from ..metrics import tradeoff

    if not args.json_out:
        raise ConfigError("--realism with several values writes its curve beside the JSON report: add --json OUT.json")
    if args.grid:
        raise ConfigError("--grid shows one model's samples: use it with a single --realism value")
    if args.grid_crop is not None or args.grid_crop_at is not None:
        raise ConfigError("--grid-crop and --grid-crop-at cut the tiles of --grid: use them with a single "
                          "--realism value")
    out = Path(args.json_out)
    picture = out.with_suffix(".png")
    points, report = evaluate_realism(task, values, **kwargs)
    print(f"{task.name}: the cGAN at each realism a, {report.images} images ({report.source})\n")
    print(tradeoff.table(points))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tradeoff.record(points, report), indent=2), encoding="utf-8")
    tradeoff.draw_curve(points, picture, title=f"{task.name}: from the MSE baseline (a=0) to the cGAN (a=1), "
                                               f"{report.images} images")
    print(f"wrote {out}, {picture}", file=sys.stderr)
    return 0


# -- export ------------------------------------------------------------------------------------------
def cmd_export(args: argparse.Namespace) -> int:
    from ..export import export_onnx, max_abs_diff, onnxruntime_available
    from ..inference import shipped_weights
    from ..plugins import load_plugins
    from ..weights import load_generator

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
    from ..plugins import load_plugins

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
    from ..app import gradio_missing

    if (missing := gradio_missing()) is not None:
        raise Img2ImgError(missing)
    from ..app.ui import main as serve

    if not 0 < args.port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {args.port}")
    if args.weights_dir and not Path(args.weights_dir).is_dir():
        raise ConfigError(f"--weights-dir {args.weights_dir} is not a folder")
    serve(host=args.host, port=args.port, share=args.share, weights_dir=args.weights_dir, device=args.device)
    return 0


# -- new-task --------------------------------------------------------------------------------------------
def cmd_new_task(args: argparse.Namespace) -> int:
    from ..scaffold import plugin_names, scaffold_plugin

    names = plugin_names(args.name)
    target = scaffold_plugin(args.name, args.dir)
    print(f"created {target} (task '{names.task}', package {names.package}, class {names.class_name})")
    print("next:")
    print(f"  pip install -e '{target}[test]'   # registers the task through its entry point")
    print(f"  pytest {target / 'tests'}        # the conformance kit (img2img.testing.check_task)")
    print(f"  img2img train --task {names.task} --size 64 --steps 200")
    return 0
