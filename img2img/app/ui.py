"""The Gradio UI: one tab per registered task, built from the task's AppHints. All the work happens in
:class:`~img2img.app.service.AppService`; this module only turns widgets into calls and results into widgets.
"""

from __future__ import annotations

import hashlib
import html
import inspect
import io
import json
import logging
import os
import random
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

# Set before gradio is imported: a local demo should not phone home, and offline machines would wait on it.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402
from PIL import Image  # noqa: E402

from ..errors import Img2ImgError  # noqa: E402
from ..plugins import PluginHost  # noqa: E402
from ..task import Control, Task  # noqa: E402
from .service import MAX_SAMPLES, AppService, LatestOnly, decode_data_url, frames_strip, read_image  # noqa: E402

log = logging.getLogger(__name__)

CSS = """
.img2img-warning { border-left: 4px solid #d97706; padding: 0.25rem 0.75rem; background: rgba(217,119,6,0.08); }
.img2img-warning pre { white-space: pre-wrap; }
.img2img-status { min-height: 2.5rem; }
.img2img-feed { display: none !important; }
"""
# The editor's export (its value for Generate; no longer run per stroke, see FEED_JS) waits on
# HTMLCanvasElement.toBlob three times (background, layer and composite, PNG-encoded in the browser and sent to
# the server). Chromium encodes toBlob in an idle period, and a
# canvas that has just been drawn on keeps its render loop busy, so each waited ~0.7-1.2 s (measured on a 2-core
# CPU: most of the ~1.8 s from mouse-up to the live preview). Encoding at once with the synchronous toDataURL gives
# the same PNG in a few ms for a 256 px canvas; big canvases (and anything that fails) keep the browser's own.
HEAD = """<script>
(() => {
  const proto = HTMLCanvasElement.prototype;
  if (proto.img2imgToBlob) return;
  const idle = proto.toBlob;
  proto.img2imgToBlob = idle;
  proto.toBlob = function (callback, type, quality) {
    if (this.width * this.height > 1048576) return idle.call(this, callback, type, quality);
    let blob;
    try {
      const url = this.toDataURL(type, quality);
      const comma = url.indexOf(",");
      const bytes = atob(url.slice(comma + 1));
      const data = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) data[i] = bytes.charCodeAt(i);
      blob = new Blob([data], {type: url.slice(5, url.indexOf(";"))});
    } catch (error) {
      return idle.call(this, callback, type, quality);
    }
    setTimeout(() => callback(blob), 0);
  };
})();
</script>
<script>
(() => {
  if (globalThis.img2imgDrawing) return;
  // Pixi's devtools hook hands over every Pixi Application the page creates, the image editors' among them.
  const apps = new Set();
  const previous = globalThis.__PIXI_APP_INIT__;
  globalThis.__PIXI_APP_INIT__ = function (app, version) {
    apps.add(app);
    if (previous) previous.call(this, app, version);
  };
  // The Pixi app of the editor in `box` that the user sees: an ImageEditor makes two (the second, for cropping,
  // stays hidden), in no fixed order. The canvas a gesture began on, when given, settles it.
  const editorApp = (box, target) => {
    let found = null;
    for (const app of apps) {
      const renderer = app.renderer;
      if (!renderer) { apps.delete(app); continue; }  // destroyed
      const canvas = renderer.canvas;
      if (!box || !box.contains(canvas)) continue;
      if (canvas === target) return app;
      if (canvas.offsetParent !== null && canvas.clientWidth > 0) found = found || app;
    }
    return found;
  };
  // The picture an editor (found by its box element) holds, as a PNG data URL: its image container rendered
  // to a width x height texture, as the editor's own export does (same call, same frame, alpha un-premultiplied
  // like it), but one image read back at once instead of three encoded and uploaded. null when not found.
  globalThis.img2imgDrawing = (box, width, height, target) => {
    const app = editorApp(box, target);
    const image = app && app.stage.children.find((child) => child.sortableChildren);
    if (!image) return null;
    const renderer = app.renderer;
    const frame = new app.screen.constructor(0, 0, width, height);
    const out = renderer.extract.pixels({target: image, resolution: 1, frame});
    const pixels = out.pixels;
    if (renderer.gl) {
      for (let i = 0; i < pixels.length; i += 4) {
        const a = pixels[i + 3];
        if (a === 0 || a === 255) continue;
        const k = 255 / a;
        pixels[i] *= k; pixels[i + 1] *= k; pixels[i + 2] *= k;
      }
    }
    const canvas = document.createElement("canvas");
    canvas.width = out.width;
    canvas.height = out.height;
    const context = canvas.getContext("2d");
    const data = context.createImageData(out.width, out.height);
    data.data.set(pixels);
    context.putImageData(data, 0, 0);
    return canvas.toDataURL("image/png");
  };
  // After a stroke, show its final state once and stop the editor's render loop, which would otherwise redraw
  // the whole box for another 500 ms (software WebGL: ~50-150 ms a frame on a loaded 2-core CPU), holding up
  // the preview's request, its answer and the picture. Any pointer event on the canvas restarts the loop.
  globalThis.img2imgSettle = (box, target) => {
    const app = editorApp(box, target);
    if (app) { app.render(); app.ticker.stop(); }
  };
})();
</script>"""
# Runs in each canvas tab's hidden feed (a gr.HTML): after every pointer gesture that began on the editor (a
# stroke, an undo, a clear), the editor's picture goes into the feed's value, whose change event runs the live
# preview. The editor itself has no change listener, so it exports nothing per stroke (with one it reads back,
# encodes and uploads three images per stroke, each waiting on a software-WebGL frame: most of the ~1.5 s from
# mouse-up to the preview on a 2-core CPU); Generate still reads its full value when clicked. A value equal to
# the last one fires no change.
FEED_JS = """
const box = () => document.getElementById(%(box)s);
// A changed picture after a gesture on the canvas itself is a stroke (a pan or a click changes nothing): only
// then is the render loop stopped, so that a pan's animation is never cut short.
const read = (target) => {
  try {
    const stroke = target && target.tagName === "CANVAS";
    const draw = globalThis.img2imgDrawing;
    const url = draw && draw(box(), %(width)d, %(height)d, stroke ? target : null);
    if (url && url !== props.value) {
      if (stroke) globalThis.img2imgSettle(box(), target);
      props.value = url;
    }
  } catch (error) {
    console.warn("img2img: live preview read failed", error);
  }
};
let armed = null;  // what the gesture began on, when inside the editor's box
const listeners = [
  [document, "pointerdown", (e) => {
    const b = box();
    armed = b && b.contains(e.target) ? e.target : null;
  }, true],
  // Bubbling on window: after the editor's own pointerup (captured on window), which commits the stroke.
  [window, "pointerup", () => {
    if (armed) { const target = armed; armed = null; read(target); }
  }, false],
  // A toolbar button (undo, redo, clear) acts on click, after pointerup.
  [document, "click", (e) => {
    const b = box();
    if (b && b.contains(e.target) && e.target.tagName !== "CANVAS") setTimeout(() => read(null), 0);
  }, true],
];
// Mounted again (a re-render): the listeners of the last mount go, so each gesture is read once.
const feeds = globalThis.img2imgFeeds = globalThis.img2imgFeeds || {};
for (const [target, type, listener, capture] of feeds[%(box)s] || []) {
  target.removeEventListener(type, listener, capture);
}
feeds[%(box)s] = listeners;
for (const [target, type, listener, capture] of listeners) target.addEventListener(type, listener, capture);
"""
# The drawing widget's box (px): the 256 px canvas with its border and toolbar, no wider. The editor redraws its
# whole box in software WebGL on a machine without a GPU, about once per frame while a stroke settles, and the
# stroke's export to the server waits on those frames: a 478 x 418 box took ~300 ms a frame on a loaded 2-core CPU.
CANVAS_BOX = (340, 340)
CANVAS_SIZE = (256, 256)  # the drawing's own pixels (what Generate and the live preview receive)
SEED_RANGE = 2**31  # seeds travel through JavaScript numbers; stay far below 2**53
# Uploads above this are refused by the server (HTTP 413) before they reach a handler or fill the disk; a
# 20 MB PNG is already far more than the ABSURD_PIXELS cap of the service lets through.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


class UploadImage(gr.Image):
    """``gr.Image`` whose unreadable uploads become a message instead of gradio's processing error.

    ``gr.Image`` opens every upload with PIL before a handler runs, so a corrupt file never reaches
    :func:`~img2img.app.service.read_image`; here it fails with the same kind of sentence.
    """

    def get_block_name(self) -> str:
        return "image"  # the stock Image frontend

    def get_block_class(self) -> str:
        return "image"

    def preprocess(self, payload: Any) -> Any:
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as exc:
            reason = "not a recognised image format" if "identify" in str(exc) else f"{type(exc).__name__}"
            raise gr.Error(f"cannot read the image: {reason}", title="Cannot read the upload",
                           print_exception=False) from exc


def build_app(host: PluginHost | None = None, weights_dir: str | os.PathLike | None = None,
              device: str = "auto", concurrency: int = 1, service: AppService | None = None) -> gr.Blocks:
    """The whole app as a (queued, not yet launched) ``gr.Blocks``; launch it with :func:`launch`."""
    service = service or AppService(host, weights_dir, device)
    with gr.Blocks(title="img2img") as demo:
        gr.Markdown("# img2img\nA pix2pix-style conditional GAN beside its MSE baseline: the cGAN gives "
                    "K different plausible answers, the baseline one average (blurrier) answer.\n\n"
                    f"Running on **{service.device_label}**.")
        for broken in service.host.broken:
            gr.Markdown(f"Plugin `{broken.plugin}` failed to load: {html.escape(broken.error)}",
                        elem_classes="img2img-warning")
        if not service.task_names():
            gr.Markdown("No tasks are registered. Is img2img installed (`pip install -e .`)?")
        with gr.Tabs():
            for name in service.task_names():
                with gr.Tab(name, id=name, elem_id=f"tab-{name}"):
                    _task_tab(service, service.task(name))
    # One model run at a time by default: a CPU is saturated by one, and further clicks wait in the queue.
    demo.queue(default_concurrency_limit=concurrency, max_size=64)
    demo.img2img_service = service  # type: ignore[attr-defined]  # lets callers reach the model cache
    return demo


def launch(demo: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, share: bool = False,
           block: bool = True, quiet: bool = False, max_upload_bytes: int = MAX_UPLOAD_BYTES) -> str:
    """Serve ``demo`` (localhost only unless ``host`` says otherwise) and return its URL."""
    _, url, _ = demo.launch(server_name=host, server_port=port, share=share, prevent_thread_lock=not block,
                            quiet=quiet, css=CSS, head=HEAD, footer_links=["api"],
                            max_file_size=max_upload_bytes)
    return url


def _task_tab(service: AppService, task: Task) -> None:
    name = task.name
    gr.Markdown(task.description)
    missing = service.weights_message(name)
    if missing:
        gr.Markdown(f"**Weights missing.**\n\n<pre>{html.escape(missing)}</pre>", elem_classes="img2img-warning")
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=320):
            inputs = _input_widgets(task)
            preview = feed = drawing = None
            if len(inputs) == 2:  # a canvas: one sample follows the drawing, stroke by stroke
                preview = gr.Image(label="Live preview: the seed's first sample at the model's size, after each "
                                   "stroke (Generate gives K samples, the baseline and the walk)", format="jpeg",
                                   interactive=False, height=220, elem_id=f"preview-{name}")
                feed = gr.HTML("", html_template="", elem_id=f"feed-{name}", elem_classes="img2img-feed",
                               js_on_load=FEED_JS % {"box": json.dumps(f"canvas-{name}"), "width": CANVAS_SIZE[0],
                                                     "height": CANVAS_SIZE[1]})
                drawing = gr.State(None)  # the last drawing the preview received: Generate's fallback
            controls = [_control_widget(c) for c in task.app.controls]
            with gr.Row():
                seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=SEED_RANGE - 1,
                                 elem_id=f"seed-{name}")
                seed_b = gr.Number(1, label="Walk to seed", precision=0, minimum=0, maximum=SEED_RANGE - 1)
            with gr.Row():
                k = gr.Slider(1, MAX_SAMPLES, value=4, step=1, label="K (cGAN samples)")
                noise = gr.Slider(0.0, 2.0, value=1.0, step=0.05, label="Noise scale (0 = mode)")
            realism = _realism_widgets(service, name)
            with gr.Row():
                generate = gr.Button("Generate", variant="primary", elem_id=f"generate-{name}")
                resample = gr.Button("New samples", elem_id=f"resample-{name}")
            picked = _examples(service, task, inputs[0], drawing)
        with gr.Column(scale=3, min_width=420):
            with gr.Row(equal_height=True):
                samples = gr.Gallery(label="cGAN samples", columns=2, height=360, object_fit="contain",
                                     format="png", elem_id=f"samples-{name}")
                baseline = gr.Image(label="MSE baseline (a single answer)", format="png", interactive=False,
                                    height=360, elem_id=f"baseline-{name}")
            with gr.Row(equal_height=True):
                compare = gr.ImageSlider(label="cGAN sample 1 | MSE baseline", format="png", interactive=False,
                                         height=320, max_height=320)
                condition = gr.Image(label="Condition (what both models see)", format="png",
                                     interactive=False, height=320, elem_id=f"condition-{name}")
            status = gr.Markdown(elem_classes="img2img-status", elem_id=f"status-{name}")
            walk = gr.Image(label="Latent walk: from the seed's first sample to 'walk to seed', same input",
                            format="png", interactive=False, height=180, elem_id=f"walk-{name}")
            walk_status = gr.Markdown(elem_classes="img2img-status", elem_id=f"walk-status-{name}")

    run, walk_run, preview_run, example_preview = _runner(service, task, has_canvas=len(inputs) == 2)
    event_inputs = [*inputs, *controls, seed, seed_b, k, noise, realism, *([drawing] if drawing else [])]
    outputs = [samples, baseline, compare, condition, status]
    walk_outputs = [walk, walk_status]
    generate.click(run, event_inputs, outputs, api_name=f"generate_{name}", concurrency_id="model").success(
        walk_run, event_inputs, walk_outputs, api_name=f"walk_{name}", concurrency_id="model")
    resample.click(_new_seeds, None, [seed, seed_b], api_visibility="private").then(
        run, event_inputs, outputs, api_visibility="private", concurrency_id="model").success(
        walk_run, event_inputs, walk_outputs, api_visibility="private", concurrency_id="model")
    if feed is not None:
        # The feed holds the canvas's picture after each stroke (FEED_JS): not the editor's change event, which
        # would make the editor export and upload itself per stroke. Not queued: a plain request, no join and
        # event stream (one round trip less), and a preview never waits behind a Generate. An unqueued event's
        # always_last holds nothing back in the browser, so quick strokes are kept from piling up on the server:
        # the service's preview gate runs one per session and lets only the newest stroke wait.
        feed.change(preview_run, [feed, *controls, seed, realism], [preview, drawing], api_name=f"preview_{name}",
                    trigger_mode="always_last", show_progress="hidden", queue=False)
        if picked is not None:  # an example loaded into the canvas is a drawing too
            picked.then(example_preview, [drawing, *controls, seed, realism], preview, api_visibility="private",
                        show_progress="hidden", queue=False)


def _realism_widgets(service: AppService, name: str) -> gr.Slider:
    """The realism slider, shown only when the tab's cGAN was fine-tuned from its baseline; its info line says
    what it does, or why it is not there."""
    problem = service.realism_problem(name)
    slider = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Realism (0 = MSE baseline, 1 = cGAN)",
                       visible=problem is None, elem_id=f"realism-{name}")
    text = ("**Realism:** the generator between the MSE baseline (0: the blurry mean) and the cGAN (1: sharp "
            "samples), by interpolating their weights." if problem is None else
            f"**Realism slider:** not shown: {html.escape(problem)}")
    gr.Markdown(text, elem_classes="img2img-status", elem_id=f"realism-info-{name}")
    return slider


def _input_widgets(task: Task) -> list[gr.components.Component]:
    """Sketch and paint tasks: a canvas plus an upload box (used when the canvas is empty). Others: an upload
    box."""
    if task.app.input_kind not in ("sketch", "paint"):
        return [UploadImage(label=task.app.input_label, type="filepath", image_mode=None, height=360,
                            sources=["upload", "clipboard"], elem_id=f"input-{task.name}")]
    with gr.Tabs():
        with gr.Tab("Draw"):
            if task.app.input_kind == "paint":
                canvas = _paint_canvas(task)
            else:
                canvas = gr.Sketchpad(label=task.app.input_label, type="pil", image_mode="RGB", format="png",
                                      canvas_size=CANVAS_SIZE, width=CANVAS_BOX[0], height=CANVAS_BOX[1],
                                      elem_id=f"canvas-{task.name}",
                                      brush=gr.Brush(colors=["#000000"], color_mode="fixed", default_size=2))
        with gr.Tab("Upload"):
            upload = UploadImage(label="Or upload a drawing (used when the canvas is empty)", type="filepath",
                                 image_mode=None, sources=["upload", "clipboard"], height=360,
                                 elem_id=f"input-{task.name}")
    return [canvas, upload]


def _paint_canvas(task: Task) -> gr.Sketchpad:
    """A canvas filled with the palette's first colour and a brush that offers only the palette's colours,
    with a legend naming them (the brush shows colours, not names)."""
    palette = task.app.palette
    fill = palette[0][1]
    blank = Image.new("RGB", CANVAS_SIZE, fill)
    canvas = gr.Sketchpad(blank, label=task.app.input_label, type="pil", image_mode="RGB", format="png",
                          canvas_size=CANVAS_SIZE, width=CANVAS_BOX[0], height=CANVAS_BOX[1],
                          elem_id=f"canvas-{task.name}", brush=gr.Brush(colors=[colour for _, colour in palette], color_mode="fixed",
                                         default_color=palette[min(1, len(palette) - 1)][1], default_size=12))
    swatches = " ".join(
        f'<span style="white-space:nowrap"><span style="display:inline-block;width:0.9em;height:0.9em;'
        f'background:{html.escape(colour)};border:1px solid #888;vertical-align:middle"></span> '
        f'{html.escape(name)}</span>' for name, colour in palette)
    gr.HTML(f"<div>{swatches}</div>", elem_id=f"palette-{task.name}")
    return canvas


def _control_widget(control: Control) -> gr.components.Component:
    if control.kind == "checkbox":
        return gr.Checkbox(value=bool(control.default), label=control.label)
    if control.kind == "slider":
        return gr.Slider(control.minimum, control.maximum, value=control.default, step=control.step,
                         label=control.label)
    if control.kind == "choice":
        choices = list(control.choices)
        # Radio buttons show every option at a glance; past a handful they wrap badly, so use a dropdown.
        if len(choices) <= 4:
            return gr.Radio(choices, value=control.default, label=control.label)
        return gr.Dropdown(choices, value=control.default, label=control.label)
    return gr.Textbox(value=str(control.default), label=control.label)  # a kind this app does not know yet


def _examples(service: AppService, task: Task, target: gr.components.Component,
              drawing: gr.State | None = None) -> Any:
    """Thumbnails of the task's code-made examples; clicking one loads it into the input widget (and, on a canvas
    tab, into ``drawing``, the state the live preview reads). Returns the select event, None without examples."""
    try:
        pictures = service.examples(task.name)
    except Exception as exc:  # a plugin's broken examples() must not take its tab down
        log.warning("examples() of task %s failed: %s", task.name, exc)
        return None
    if not pictures:
        return None
    gallery = gr.Gallery(pictures, label="Examples (click to load)", columns=len(pictures), height=180,
                         allow_preview=False, object_fit="contain", format="png", interactive=False)

    def pick(evt: gr.SelectData) -> Any:
        return pictures[evt.index]

    def pick_both(evt: gr.SelectData) -> tuple[Any, Any]:
        return pictures[evt.index], pictures[evt.index]

    if drawing is None:
        return gallery.select(pick, None, target, api_visibility="private")
    return gallery.select(pick_both, None, [target, drawing], api_visibility="private")


def _new_seeds() -> tuple[int, int]:
    seed = random.randrange(SEED_RANGE - 1)
    return seed, seed + 1


def _runner(service: AppService, task: Task, has_canvas: bool) -> tuple[Callable[..., Any], ...]:
    """The handlers of a tab: ``generate`` (samples, baseline, slider, condition, status), ``walk`` (the
    latent-walk strip and its time), which the UI chains after generate so the first answer is not kept waiting
    for seven more cGAN passes, ``preview`` (a canvas tab's one quick sample while drawing, from the canvas's
    PNG data URL; it also returns the drawing, for the tab's state) and ``example_preview`` (the same for a
    drawing already decoded: an example loaded into the canvas).

    On a canvas tab, generate and walk take one more, last value: the drawing the live preview last received
    (a gr.State, not part of the API). An empty canvas value with no upload falls back to it: Gradio (6.x) could
    send an empty canvas to a click made while a canvas event was still running."""
    names = [c.name for c in task.app.controls]
    blank = task.app.palette[0][1] if task.app.input_kind == "paint" else None  # a paint canvas's empty fill

    def parse(values: tuple) -> tuple[Any, dict[str, Any], list[Any]]:
        values_ = list(values)
        fallback = values_.pop() if has_canvas and len(values_) > len(params) + len(fixed) else None
        drawn = values_.pop(0) if has_canvas else None
        uploaded = values_.pop(0)
        controls = dict(zip(names, values_[: len(names)]))
        if has_canvas and _empty_canvas(drawn) and uploaded is None and fallback is not None:
            drawn = fallback
        image = service.choose_input(drawn, uploaded, blank) if has_canvas else uploaded
        return image, controls, values_[len(names):]

    def guarded(work: Callable[[], tuple]) -> tuple:
        try:
            return work()
        except Img2ImgError as exc:
            raise gr.Error(_as_html(str(exc)), title="Cannot generate", print_exception=False) from exc
        except Exception as exc:  # a bug: the user gets one line, the server log the traceback
            log.exception("generate failed for task %s", task.name)
            raise gr.Error(f"internal error: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}") from exc

    def run(*values: Any) -> tuple:
        def work() -> tuple:
            image, controls, (seed, seed_b, k, noise, realism) = parse(values)
            result = service.generate(task.name, image, seed=seed, k=k, noise_scale=noise, controls=controls,
                                      seed_b=seed_b, interpolation_steps=0, realism=realism)
            samples = [_cached_png(p) for p in result.samples]
            baseline = _cached_png(result.baseline)
            first = samples[0] if samples else None
            compare = (first, baseline) if first is not None and baseline is not None else None
            return samples, baseline, compare, _cached_png(result.condition), result.summary()
        return guarded(work)

    def walk(*values: Any) -> tuple:
        def work() -> tuple:
            image, controls, (seed, seed_b, k, noise, realism) = parse(values)
            frames, ms = service.latent_walk(task.name, image, seed=seed, seed_b=seed_b, k=k, noise_scale=noise,
                                             controls=controls, realism=realism)
            if not frames:
                return None, "No latent walk: this task has no cGAN that takes noise."
            text = f"Latent walk from seed {int(seed)} to {int(seed_b)}: {len(frames)} frames in {ms:.0f} ms"
            return _cached_png(frames_strip(frames)), text
        return guarded(work)

    def quick(drawn: Any, rest: list[Any]) -> str | None:
        """One quick sample of the canvas, or nothing: while drawing, an empty canvas or an error is not worth
        a message (Generate gives those)."""
        controls, (seed, realism) = dict(zip(names, rest[: len(names)])), rest[len(names):]
        try:
            image = service.choose_input(drawn, None, blank)
            picture, _ = service.preview(task.name, image, seed=seed, controls=controls, realism=realism)
        except Img2ImgError:
            return None
        except Exception:  # a bug: logged, the canvas goes on
            log.exception("preview failed for task %s", task.name)
            return None
        return _cached_png(picture)

    def preview(*values: Any) -> tuple[Any, Any]:
        url, *rest, request = values
        try:
            drawn, _ = read_image(decode_data_url(url), service.max_pixels)
        except Img2ImgError:
            return None, gr.skip()  # not a drawing (an empty feed, a bad client): the state keeps the last one
        # The browser sends one request per stroke without waiting for the last: one preview runs per session,
        # the newest stroke waits, and the strokes in between answer at once with no change.
        session = getattr(request, "session_hash", None) or id(request)
        picture = service.preview_gate.run((task.name, session), lambda: quick(drawn, rest))
        if picture is LatestOnly.SUPERSEDED:
            return gr.skip(), drawn
        return picture, drawn

    def example_preview(*values: Any) -> str | None:
        drawn, *rest = values
        return quick(drawn, rest) if drawn is not None else None

    # gradio_client names API parameters after the signature; *values alone would show param_0, param_1...
    fixed = ["seed", "seed_b", "k", "noise_scale", "realism"]
    params = (["sketch"] if has_canvas else []) + ["image"]
    controls_ = [n if n.isidentifier() and n not in fixed + params else f"control_{i}" for i, n in enumerate(names)]
    params += controls_
    hidden = ["drawing"] if has_canvas else []  # the state: gradio leaves it out of the API

    def signature(parameters: list[str], optional: list[str] = ()) -> inspect.Signature:
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        return inspect.Signature([inspect.Parameter(n, kind) for n in parameters]
                                 + [inspect.Parameter(n, kind, default=None) for n in optional])

    for handler, prefix in ((run, "generate"), (walk, "walk")):
        handler.__name__ = f"{prefix}_{task.name}"
        handler.__signature__ = signature(params + fixed, hidden)  # type: ignore[attr-defined]
    preview.__name__ = f"preview_{task.name}"
    preview.__signature__ = signature(  # type: ignore[attr-defined]
        ["sketch", *controls_, "seed", "realism"], ["request"])
    preview.__annotations__ = {"request": gr.Request}  # gradio passes the request (its session) to this parameter
    example_preview.__name__ = f"example_preview_{task.name}"
    example_preview.__signature__ = signature(["drawing", *controls_, "seed", "realism"])  # type: ignore[attr-defined]
    return run, walk, preview, example_preview


def _empty_canvas(value: Any) -> bool:
    """True for a canvas value without a picture: None, or an ImageEditor value whose composite is missing."""
    if isinstance(value, dict):
        return value.get("composite") is None
    return value is None


def _cached_png(image: Image.Image | None) -> str | None:
    """Save an output into gradio's cache ourselves, atomically, and hand gradio the path.

    Given a PIL image, gradio (6.x) writes it to ``<cache>/<hash of the bytes>/image.png`` in place; two
    requests with an identical output (the deterministic baseline, the same condition) then rewrite the
    file while another client downloads it, and the download fails ("Too little data for declared
    Content-Length"; measured: 17 of 176 requests from 16 concurrent clients). Here an existing file is
    never rewritten and a new one appears only complete (temp file + rename); gradio serves a path that
    is already inside its cache as it is.
    """
    if image is None:
        return None
    buffer = io.BytesIO()
    # Lossless (the point of the app is comparing sharpness); level 1 encodes a 256 px output in ~4 ms instead
    # of ~10 ms at the default level 6, for files ~15% larger. Seven images per click.
    image.save(buffer, "PNG", compress_level=1)
    data = buffer.getvalue()
    folder = Path(gr.utils.get_upload_folder()) / "img2img" / hashlib.sha256(data).hexdigest()[:40]
    target = folder / "image.png"
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        fd, staging = tempfile.mkstemp(dir=folder, prefix=".image-", suffix=".png")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(staging, target)
        except BaseException:
            Path(staging).unlink(missing_ok=True)
            raise
    return str(target)


def _as_html(message: str) -> str:
    return html.escape(message).replace("\n", "<br>")


def main(host: str = "127.0.0.1", port: int = 7860, share: bool = False,
         weights_dir: str | Path | None = None, device: str = "auto") -> None:
    """Build and serve the app until interrupted (``img2img app`` and ``app.py`` land here)."""
    demo = build_app(weights_dir=weights_dir, device=device)
    # Load and run every model in the background while the server starts: the first click is then as fast as
    # the rest (it was ~4 s, mostly the one-time ONNX export), and a click during the warm-up waits on the same
    # per-task lock instead of loading twice.
    threading.Thread(target=demo.img2img_service.warm_up, name="img2img-warm-up", daemon=True).start()
    launch(demo, host=host, port=port, share=share, block=True)
