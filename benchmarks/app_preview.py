"""The app's latencies: the realism switch on the server, and the live preview from mouse-up in a browser.

Starts the app (shipped weights or --weights-dir), warms it up as `img2img app` does, and measures, in one run:

1. Server, realism (sketch2photo): generate() (K = 4, no walk) at a = 1 (a normal generate), at one fixed a = 0.5
   (the interpolated generator, torch, no switch) and at a new a every call (0.3, 0.6, 0.3, ... : each call
   rewrites the weights), and the weight switch alone. When the weights given are not a fine-tuned pair, a
   stand-in pair is made in a temporary folder from them: the cGAN's architecture with the baseline copied in
   (load_init, as a fine-tune starts) plus a small perturbation, saved with the baseline's id as its origin.
   Sizes and times are those of a shipped pair; its outputs mean nothing.
2. Browser: drives Debian's Chromium with Playwright on the sketch2photo canvas. --strokes strokes one at a time,
   each: mouse-up to the new preview picture on the page (both marked in the page: pointerup, and the new
   picture loaded), the server's preview() time (thinning, condition, one model pass), and the preview request's
   server share (request sent to first byte back: gradio, the PNG decode, preview() and the PNG encode). The
   preview reads the canvas itself (one PNG data URL into a hidden feed per stroke, see img2img.app.ui.FEED_JS);
   the editor's own export runs only for Generate. Then 10 strokes without waiting: how many preview requests
   the browser sent, how many ran the model, how many gave way to a newer stroke, and the most ever waiting at
   once (the server's preview gate lets only the newest stroke wait).

The machine may be shared, so every time is also given as a ratio to the normal generate of the same run.
Needs Chromium and playwright; not part of run_all.py.

    .venv/bin/python benchmarks/app_preview.py [--strokes 8] [--repeats 7] [--weights-dir weights]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "app"), str(ROOT / "tests")]  # the browser test's drawing helper

import torch  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

THREADS = torch.get_num_threads()
from test_browser import CHROMIUM, CHROMIUM_ARGS, _draw  # noqa: E402

torch.set_num_threads(THREADS)  # the tests' conftest pins one thread; the app as users run it does not

from img2img.app import build_app  # noqa: E402
from img2img.app.ui import launch  # noqa: E402
from img2img.inference import default_weights_dir  # noqa: E402
from img2img.realism import check_pair  # noqa: E402
from img2img.weights import INIT_ID_KEY, load_generator, load_init, read_info, save_generator, weights_id  # noqa: E402

TASK = "sketch2photo"


def _stroke(i: int) -> list[tuple[float, float]]:
    """Stroke i: a new line on the canvas for every i (a stroke drawn twice changes no picture and no preview)."""
    y = -0.3 + 0.06 * (i % 10)
    x = 0.04 * (i // 10)
    return [(-0.25 + x, y + x), (-0.05, y + 0.02), (0.15 - x, y), (0.25, y + 0.03 + x)]


def stand_in_pair(weights_dir: Path, folder: Path) -> Path:
    """``weights_dir`` copied into ``folder`` with TASK's cGAN replaced by one 'fine-tuned' from its baseline."""
    for path in weights_dir.glob("*.safetensors"):
        shutil.copy(path, folder / path.name)
    cgan, baseline = folder / f"{TASK}-cgan.safetensors", folder / f"{TASK}-regression.safetensors"
    base, base_info = load_generator(baseline)  # written again: its metadata then names every option, as a new file's
    save_generator(baseline, base, task=base_info.task, model=base_info.model, train_size=base_info.train_size,
                   step=base_info.step, task_options=base_info.task_options,
                   extra={k: v for k, v in base_info.extra.items() if k != "id"})
    generator, info = load_generator(cgan)
    load_init(generator, baseline)
    with torch.no_grad():
        gen = torch.Generator().manual_seed(0)
        for tensor in generator.state_dict().values():
            if tensor.is_floating_point():
                tensor.add_(0.01 * tensor.std().nan_to_num() * torch.randn(tensor.shape, generator=gen))
    extra = {k: v for k, v in info.extra.items() if k != "id"} | {INIT_ID_KEY: weights_id(baseline)}
    save_generator(cgan, generator, task=info.task, model=info.model, train_size=info.train_size, step=info.step,
                   task_options=info.task_options, extra=extra)
    check_pair(cgan, baseline)
    return folder


def _ms(run) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def server_realism(service, repeats: int) -> dict[str, float]:
    example = service.examples(TASK)[0]

    def generate(a: float) -> None:
        service.generate(TASK, example, k=4, interpolation_steps=0, realism=a)

    generate(0.5)  # the first interpolated run: the pair is read at load, this is torch's first call at that size
    normal = [_ms(lambda: generate(1.0)) for _ in range(repeats)]
    fixed = [_ms(lambda: generate(0.5)) for _ in range(repeats)]
    switching = [_ms(lambda i=i: generate(0.3 if i % 2 == 0 else 0.6)) for i in range(repeats)]
    pair = service.models(TASK).cgan.realism_pair()
    views = (pair.generator(0.3), pair.generator(0.6))

    def write(a: float) -> None:
        with pair._lock:
            pair._write(a)

    switch = [_ms(lambda i=i: write(views[i % 2].realism)) for i in range(repeats)]
    return {"normal": statistics.median(normal), "fixed": statistics.median(fixed),
            "switching": statistics.median(switching), "switch": statistics.median(switch)}


# Marks in the page: pointerup, and each new preview picture once loaded (its src changes, then it loads).
MARKS = """(task) => {
  const marks = window.img2imgMarks = [];
  window.addEventListener("pointerup", () => marks.push(["up", performance.now()]), true);
  let src = null;
  const check = () => {
    const img = document.querySelector(`#preview-${task} img`);
    if (!img || img.src === src) return;
    src = img.src;
    const done = () => marks.push(["shown", performance.now()]);
    if (img.complete && img.naturalWidth) done(); else img.addEventListener("load", done, {once: true});
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true,
                                                      attributeFilter: ["src"]});
}"""


def browser_preview(demo, strokes: int, port: int) -> dict:
    service = demo.img2img_service
    server_ms: list[float] = []
    preview = service.preview

    def timed_preview(*a, **k):
        start = time.perf_counter()
        try:
            return preview(*a, **k)
        finally:
            server_ms.append((time.perf_counter() - start) * 1000)

    service.preview = timed_preview
    launch(demo, port=port, block=False, quiet=True)
    waits: list[float] = []
    servers: list[float] = []
    shares: list[float] = []
    loads: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        sent: list[float] = []
        finished: list = []
        page.on("request", lambda r: sent.append(time.perf_counter()) if "/run/predict" in r.url else None)
        page.on("requestfinished", lambda r: finished.append(r.timing) if "/run/predict" in r.url else None)
        page.goto(f"http://127.0.0.1:{port}")
        page.get_by_role("tab", name=TASK).click()
        canvas = page.locator(f"#canvas-{TASK}")
        canvas.get_by_role("button", name="Brush", exact=True).click()
        board = canvas.locator("canvas").first
        page.evaluate(MARKS, TASK)
        time.sleep(1.0)
        print(f"load average before the browser part: {os.getloadavg()[0]:.2f}")
        print("stroke  mouse-up to new preview ms  server preview() ms  request's server share ms  load")
        for i in range(strokes):
            page.evaluate("() => { window.img2imgMarks.length = 0; }")
            server_ms.clear()
            finished.clear()
            _draw(page, board, [_stroke(i)])
            page.wait_for_function("() => { const m = window.img2imgMarks;"
                                   " const up = m.map(x => x[0]).lastIndexOf('up');"
                                   " return up >= 0 && m.slice(up).some(x => x[0] === 'shown'); }", timeout=30_000)
            marks = page.evaluate("() => window.img2imgMarks")
            up = max(j for j, (name, _) in enumerate(marks) if name == "up")
            shown = next(t for name, t in marks[up:] if name == "shown") - marks[up][1]
            share = [t["responseStart"] - t["requestStart"] for t in finished if t.get("responseStart", -1) >= 0]
            waits.append(shown)
            servers += server_ms
            shares += share
            loads.append(os.getloadavg()[0])
            print(f"{i:6d}  {shown:26.0f}  {' '.join(f'{ms:.0f}' for ms in server_ms):>19}  "
                  f"{' '.join(f'{ms:.0f}' for ms in share):>25}  {loads[-1]:.1f}")
            time.sleep(0.5)
        time.sleep(1.0)
        gate = service.preview_gate
        sent.clear()
        gate.peak_waiting = gate.superseded = gate.runs = 0
        box = board.bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for i in range(10):  # quick strokes: no pause between them
            points = [(cx + dx * box["width"], cy + (dy + 0.1) * box["height"]) for dx, dy in _stroke(i)]
            page.mouse.move(*points[0])
            page.mouse.down()
            for x, y in points[1:]:
                page.mouse.move(x, y, steps=2)
            page.mouse.up()
        time.sleep(4.0)
        browser.close()
    return {"waits": waits, "servers": servers, "shares": shares, "loads": loads,
            "quick": (len(sent), gate.runs, gate.superseded, gate.peak_waiting)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--weights-dir", default=None)
    parser.add_argument("--port", type=int, default=7881)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"app_preview: {CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)")
        return 2
    weights = Path(args.weights_dir or default_weights_dir())
    with tempfile.TemporaryDirectory(prefix="app-preview-") as tmp:
        try:
            check_pair(weights / f"{TASK}-cgan.safetensors", weights / f"{TASK}-regression.safetensors")
        except Exception as exc:  # noqa: BLE001 - any reason: use a stand-in pair of the same size
            print(f"{TASK}: not a fine-tuned pair ({exc}); a stand-in pair is made from these weights")
            weights = stand_in_pair(weights, Path(tmp))
        demo = build_app(weights_dir=weights)
        service = demo.img2img_service
        print(f"{TASK}: {read_info(weights / f'{TASK}-cgan.safetensors').train_size} px training size; "
              f"device {service.device_label}; warm-up: {service.warm_up().get(TASK)}")
        print(f"load average: {os.getloadavg()[0]:.2f}")
        times = server_realism(service, args.repeats)
        normal = times["normal"]
        print(f"server generate() K=4, medians of {args.repeats}:")
        print(f"  a = 1 (a normal generate)          {normal:7.0f} ms")
        print(f"  a = 0.5 every time (no switch)     {times['fixed']:7.0f} ms  ({times['fixed'] / normal:.2f}x normal)")
        print(f"  a new a every call (switching)     {times['switching']:7.0f} ms  "
              f"({times['switching'] / normal:.2f}x normal)")
        print(f"  realism switch beyond a generate at a fixed a: {times['switching'] - times['fixed']:+.0f} ms; "
              f"the weight write alone: {times['switch']:.1f} ms")
        try:
            found = browser_preview(demo, args.strokes, args.port)
        finally:
            demo.close()
    sent, ran, gave_way, waiting = found["quick"]
    print(f"10 quick strokes: {sent} preview requests sent, {ran} ran the model, {gave_way} gave way to a newer "
          f"stroke, at most {waiting} waiting at once")
    later = found["waits"][1:] or found["waits"]  # the first preview of a page also warms the browser up
    if later:
        shown, servers = statistics.median(later), found["servers"]
        print(f"median mouse-up to new preview (strokes 2..): {shown:.0f} ms ({shown / normal:.2f}x a normal "
              f"generate); median server preview(): {statistics.median(servers):.0f} ms; median request's server "
              f"share: {statistics.median(found['shares']):.0f} ms; load average {min(found['loads']):.1f}-"
              f"{max(found['loads']):.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
