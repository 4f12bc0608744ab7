"""The argparse parser of ``img2img``: one subcommand per verb, ``train``'s options in groups."""

from __future__ import annotations

import argparse

from . import commands
from .commands import EVAL_DEFAULT_LIMIT

DESCRIPTION = ("Image-to-image translation with a conditional GAN beside its MSE-regression baseline; tasks are "
               "plugins (img2img tasks). Every user error is one line on stderr and a non-zero exit code; --debug "
               "shows the traceback.")


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
    train.set_defaults(func=commands.cmd_train)

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
                              "training scale; 0 = always full resolution)")
    predict.add_argument("--realism", type=float, default=None, metavar="A",
                         help="a cGAN fine-tuned from its MSE baseline only: 0 = the baseline, 1 = the cGAN, between "
                              "= their weight interpolation (runs with torch)")
    predict.add_argument("--baseline", metavar="FILE",
                         help="with --realism: the baseline the cGAN was fine-tuned from (default: "
                              "TASK-regression.safetensors beside the cGAN's weights)")
    predict.add_argument("--force", action="store_true", help="overwrite existing output files")
    predict.set_defaults(func=commands.cmd_predict)

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
    evaluate.add_argument("--work-scale", action="store_true",
                          help="with --size 0: run the generator at the task's working scale, as predict and the "
                               "app do (uncrop paints its fill at the training photos' scale and upscales it), "
                               "instead of at full resolution")
    evaluate.add_argument("--split", choices=("auto", "val", "all"), default="auto",
                          help="auto (default): the validation split when --data is the folder the weights were "
                               "trained on, every image of any other folder (held-out photos); val / all force it")
    evaluate.add_argument("--limit", type=int, default=EVAL_DEFAULT_LIMIT,
                          help=f"images to use, spread over the folder (default {EVAL_DEFAULT_LIMIT}; 0 = all)")
    evaluate.add_argument("--json", dest="json_out", metavar="OUT", help="also write the full report as JSON")
    evaluate.add_argument("--grid", metavar="OUT.png",
                          help="comparison grid: condition | regression | cgan samples | target, one input per row "
                               "(at --size 0: the central training-size square of each image, or see --grid-crop)")
    evaluate.add_argument("--grid-crop", type=int, metavar="PX",
                          help="with --size 0: each grid tile is a PX x PX window of its image at native scale, never "
                               "resampled (an image smaller than PX is shown whole)")
    evaluate.add_argument("--grid-crop-at", choices=("center", "detail"),
                          help="where the --grid-crop window lies: center (default), or detail: where the target has "
                               "the most fine detail (Laplacian energy)")
    evaluate.add_argument("--reference", metavar="PHOTOS",
                          help="folder of real photos: --data then holds inputs without targets (e.g. hand-drawn "
                               "sketches); realism and diversity are measured, paired metrics are n/a")
    evaluate.add_argument("--realism", metavar="A[,A...]",
                          help="a cGAN fine-tuned from its MSE baseline only: score it at realism A (0 = the "
                               "baseline, 1 = the cGAN); several values draw the perception-distortion curve into a "
                               "PNG beside --json")
    evaluate.add_argument("--fid-weights", metavar="FILE",
                          help="TorchScript feature extractor for FID/KID (299 px [0,1] images -> (N, D) features)")
    evaluate.add_argument("--task-option", action="append", default=[], metavar="NAME=VALUE",
                          help="override one of the task's options for this evaluation (repeatable), e.g. "
                               "mask=palette to score uncrop on one-side 50%% masks only; `img2img tasks` lists them")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--device", default="auto")
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.set_defaults(func=commands.cmd_eval)

    export = sub.add_parser("export", parents=[common], help="export a generator to ONNX (needs img2img[export])")
    export.add_argument("--task", required=True)
    export.add_argument("--model", choices=["cgan", "regression"], default="cgan")
    export.add_argument("--weights", help="a .safetensors file (default: the shipped weights for --model)")
    export.add_argument("--format", choices=["onnx"], default="onnx")
    export.add_argument("--out", required=True, help="output .onnx file")
    export.add_argument("--force", action="store_true", help="overwrite an existing --out")
    export.set_defaults(func=commands.cmd_export)

    tasks = sub.add_parser("tasks", parents=[common], help="list registered tasks and broken plugins; "
                           "with NAME, one task's options")
    tasks.add_argument("name", nargs="?", metavar="NAME", help="show this task's options and their defaults")
    tasks.add_argument("--json", action="store_true", help="machine-readable output")
    tasks.set_defaults(func=commands.cmd_tasks)

    new_task = sub.add_parser("new-task", parents=[common], help="create a task plugin package to start from")
    new_task.add_argument("name", metavar="NAME", help="task name: lowercase letters, digits, '-' or '_'")
    new_task.add_argument("--dir", help="folder to create (default ./img2img-NAME); must not exist or be empty")
    new_task.set_defaults(func=commands.cmd_new_task)

    app = sub.add_parser("app", parents=[common], help="serve the Gradio demo (needs img2img[app])")
    app.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    app.add_argument("--port", type=int, default=7860)
    app.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    app.add_argument("--weights-dir", help="folder of TASK-cgan/TASK-regression .safetensors (default weights/)")
    app.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N")
    app.set_defaults(func=commands.cmd_app)
    return parser


