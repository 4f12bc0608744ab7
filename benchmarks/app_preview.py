"""The live preview while drawing: mouse-up to a changed preview image, and what quick strokes leave queued.

Starts the app (shipped weights or --weights-dir), warms it up as `img2img app` does, and drives Debian's
Chromium with Playwright on the sketch2photo canvas. Part 1 draws --strokes strokes one at a time and prints,
for each, the time from mouse-up to a new preview image on the page and the server's preview() time. Part 2
draws 10 strokes without waiting and prints how many preview requests the browser sent, how many ran, and
the most that were ever waiting (sent, not yet started) at once. Then realism: the server time of generate()
at a = 1 and at a new a (only when the sketch2photo weights are a fine-tuned pair). Needs Chromium and
playwright; not part of run_all.py.

    .venv/bin/python benchmarks/app_preview.py [--strokes 8] [--weights-dir weights]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
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

TASK = "sketch2photo"


def _stroke(i: int) -> list[tuple[float, float]]:
    y = -0.3 + 0.06 * (i % 10)
    return [(-0.25, y), (-0.05, y + 0.02), (0.15, y), (0.25, y + 0.03)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=8)
    parser.add_argument("--weights-dir", default=None)
    parser.add_argument("--port", type=int, default=7881)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"app_preview: {CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)")
        return 2

    demo = build_app(weights_dir=args.weights_dir)
    service = demo.img2img_service
    starts: list[float] = []
    server_ms: list[float] = []
    preview = service.preview

    def timed_preview(*a, **k):
        start = time.perf_counter()
        starts.append(start)
        try:
            return preview(*a, **k)
        finally:
            server_ms.append((time.perf_counter() - start) * 1000)

    service.preview = timed_preview
    print("warm-up:", service.warm_up().get(TASK))
    demo.queue().launch(server_name="127.0.0.1", server_port=args.port, prevent_thread_lock=True, quiet=True)
    waits: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            joins: list[float] = []
            page.on("request", lambda r: joins.append(time.perf_counter()) if "queue/join" in r.url else None)
            page.goto(f"http://127.0.0.1:{args.port}")
            page.get_by_role("tab", name=TASK).click()
            canvas = page.locator(f"#canvas-{TASK}")
            canvas.get_by_role("button", name="Brush", exact=True).click()
            board = canvas.locator("canvas").first
            image = page.locator(f"#preview-{TASK} img")
            print(f"load average before: {os.getloadavg()[0]:.2f}")
            print("stroke  mouse-up to new preview ms  server preview() ms")
            for i in range(args.strokes):
                before = image.get_attribute("src") if image.count() else ""
                server_ms.clear()
                _draw(page, board, [_stroke(i)])  # ends with mouse-up and a 0.1 s pause
                up = time.perf_counter() - 0.1
                page.wait_for_function(f"(b) => {{ const i = document.querySelector('#preview-{TASK} img');"
                                       " return i && i.src !== b; }", arg=before, timeout=30_000)
                shown = (time.perf_counter() - up) * 1000
                waits.append(shown)
                print(f"{i:6d}  {shown:26.0f}  {' '.join(f'{ms:.0f}' for ms in server_ms)}")
            time.sleep(1.0)
            joins.clear()
            starts.clear()
            box = board.bounding_box()
            cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
            for i in range(10):  # quick strokes: no pause between them
                points = [(cx + dx * box["width"], cy + (dy + 0.1) * box["height"]) for dx, dy in _stroke(i)]
                page.mouse.move(*points[0])
                page.mouse.down()
                for x, y in points[1:]:
                    page.mouse.move(x, y, steps=2)
                page.mouse.up()
            time.sleep(3.0)
            waiting = max((sum(j <= t for j in joins) - sum(s <= t for s in starts) for t in joins), default=0)
            print(f"10 quick strokes: {len(joins)} preview requests sent, {len(starts)} run, at most "
                  f"{max(0, waiting)} waiting at once")
            browser.close()
    finally:
        demo.close()
    if waits:
        print(f"median mouse-up to new preview (strokes 2..): {statistics.median(waits[1:] or waits):.0f} ms")
    if service.realism_problem(TASK) is None:
        example = service.examples(TASK)[0]
        for label, a in (("a = 1", 1.0), ("a = 1 again", 1.0), ("new a = 0.35", 0.35), ("a = 0.35 again", 0.35)):
            start = time.perf_counter()
            service.generate(TASK, example, k=4, interpolation_steps=0, realism=a)
            print(f"generate() {label}: {(time.perf_counter() - start) * 1000:.0f} ms")
    else:
        print(f"realism: {service.realism_problem(TASK)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
