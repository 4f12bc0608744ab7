"""What a person waits for in the app: click Generate on a drawn sketch, until the samples and the baseline show.

Starts the app with the shipped weights (or --weights-dir), drives Debian's Chromium with Playwright, draws a
shoe outline on the sketch2photo canvas and clicks Generate N times with different seeds. For each click it
prints the time until that click's status line is visible (samples + baseline are on the page by then), the
time until its latent walk is visible, and when the server-side generate() ran. The first click is left out
of the medians (with --cold it also pays for loading the models). Needs Chromium (/usr/bin/chromium) and playwright; not part of run_all.py.

    .venv/bin/python benchmarks/app_click.py [--clicks 6] [--weights-dir weights]

Stop background jobs first (their load shows in the printed load average): on 2 cores they double the times.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
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

OUTLINE = [  # a low shoe, in fractions of the canvas from its centre: sole, toe, collar, and one lace line
    [(-0.25, 0.1), (0.0, 0.12), (0.25, 0.1), (0.27, 0.02), (0.1, -0.02), (-0.05, -0.12), (-0.25, -0.12), (-0.25, 0.1)],
    [(-0.1, -0.08), (0.05, 0.0)],
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=6)
    parser.add_argument("--weights-dir", default=None)
    parser.add_argument("--port", type=int, default=7879)
    parser.add_argument("--cold", action="store_true", help="skip the app's background warm-up")
    parser.add_argument("--screenshot", default=None, help="save the page after the last click here")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"app_click: {CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)")
        return 2

    demo = build_app(weights_dir=args.weights_dir)
    service = demo.img2img_service
    calls: list[tuple[float, float]] = []
    generate = service.generate

    def timed_generate(*a, **k):
        start = time.perf_counter()
        try:
            return generate(*a, **k)
        finally:
            calls.append((start, time.perf_counter()))

    service.generate = timed_generate
    if not args.cold:  # as `img2img app` does: load and run every model in the background while starting
        threading.Thread(target=service.warm_up, daemon=True).start()
    demo.queue().launch(server_name="127.0.0.1", server_port=args.port, prevent_thread_lock=True, quiet=True)
    shown, walked = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"http://127.0.0.1:{args.port}")
            page.get_by_role("tab", name="sketch2photo").click()
            canvas = page.locator("#canvas-sketch2photo")
            canvas.get_by_role("button", name="Brush", exact=True).click()
            _draw(page, canvas.locator("canvas").first, OUTLINE)
            print(f"load average before: {os.getloadavg()[0]:.2f}")
            print("click  seed  samples+baseline s  walk s  server generate() s")
            for i in range(args.clicks):
                seed = 100 + i
                page.locator("#seed-sketch2photo input").fill(str(seed))
                calls.clear()
                t0 = time.perf_counter()
                page.locator("#generate-sketch2photo").click()
                page.locator("#status-sketch2photo").get_by_text(f"Seed: {seed}").wait_for(timeout=60_000)
                t1 = time.perf_counter()
                page.locator("#walk-status-sketch2photo").get_by_text(f"seed {seed} to").wait_for(timeout=60_000)
                t2 = time.perf_counter()
                server = " ".join(f"{a - t0:.2f}-{b - t0:.2f}" for a, b in calls)
                print(f"{i:5d}  {seed:4d}  {t1 - t0:18.3f}  {t2 - t0:6.3f}  {server}")
                shown.append(t1 - t0)
                walked.append(t2 - t0)
                time.sleep(1.0)
            if args.screenshot:
                page.screenshot(path=args.screenshot, full_page=True)
            print(page.locator("#status-sketch2photo").inner_text())
            browser.close()
    finally:
        demo.close()
    if len(shown) > 1:
        print(f"median of clicks 2..{len(shown)}: samples+baseline {statistics.median(shown[1:]):.3f} s, "
              f"walk {statistics.median(walked[1:]):.3f} s; load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
