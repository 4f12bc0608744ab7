"""A person's path through the app in a real browser: draw a sketch, click Generate, get pictures back.

Drives Debian's Chromium (``apt-get install chromium``) through Playwright's python package; Playwright's
own browser download is never used.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest

pytest.importorskip("gradio", reason="the app needs the 'app' extra: pip install 'img2img[app]'")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from app_helpers import TASKS, pixel_std, start_app, tiny_weights  # noqa: E402
from img2img.plugins import load_plugins  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:.*(no_silent_downcasting|copy keyword).*"),
]


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y --no-install-recommends chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright python package is missing")
    profile = tmp_path_factory.mktemp("chromium-profile")  # fresh user data: no cache, no session
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, host):
    weights = tiny_weights(tmp_path_factory, host)
    demo, url = start_app(weights, load_plugins(allow=list(TASKS)), tmp_path_factory.mktemp("gradio"))
    yield url
    demo.close()


def _draw(page, canvas, strokes: list[list[tuple[float, float]]]) -> None:
    """Mouse strokes given as offsets (fractions of the canvas box) from its centre.

    Gradio 6 centres the drawable page inside a wider canvas element, so strokes stay near the centre;
    the pauses let its pointer handlers see every move.
    """
    box = canvas.bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for stroke in strokes:
        points = [(cx + dx * box["width"], cy + dy * box["height"]) for dx, dy in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(x, y, steps=2)
            time.sleep(0.03)
        page.mouse.up()
        time.sleep(0.1)


def _settle_preview(page, task: str) -> None:
    """Wait until the live preview of the last stroke has arrived and no preview is pending (the first preview
    of a fresh app also loads the models), so that a screenshot shows it."""
    page.locator(f"#preview-{task} img").wait_for(timeout=60_000)
    time.sleep(1.0)


def test_draw_a_sketch_and_generate(browser_context, app_url, tmp_path):
    page = browser_context.new_page()
    page.goto(app_url)
    page.get_by_role("tab", name="sketch2photo").click()
    sketchpad = page.locator("#canvas-sketch2photo")
    sketchpad.get_by_role("button", name="Brush", exact=True).click()  # Gradio 6 draws only after this
    canvas = sketchpad.locator("canvas").first
    # A shoe-ish outline: sole, toe, heel and a lace line.
    _draw(page, canvas, [
        [(-0.25, 0.1), (0.0, 0.12), (0.25, 0.1), (0.27, 0.02), (0.1, -0.02), (-0.05, -0.12), (-0.25, -0.12),
         (-0.25, 0.1)],
        [(-0.1, -0.08), (0.05, 0.0)],
    ])
    _settle_preview(page, "sketch2photo")
    page.locator("#generate-sketch2photo").click()

    status = page.locator("#status-sketch2photo")
    status.get_by_text("MSE baseline").wait_for(timeout=60_000)
    samples = page.locator("#samples-sketch2photo img")
    samples.nth(3).wait_for(timeout=30_000)
    baseline = page.locator("#baseline-sketch2photo img")
    baseline.wait_for(timeout=30_000)
    # The latent walk is a second event chained after the first answer.
    page.locator("#walk-status-sketch2photo").get_by_text("7 frames").wait_for(timeout=60_000)
    walk = page.locator("#walk-sketch2photo img")
    walk.wait_for(timeout=30_000)
    time.sleep(0.5)  # let the images finish painting before the screenshot
    screenshot = tmp_path / "sketch2photo.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")

    sources = [samples.nth(i).get_attribute("src") for i in range(samples.count())] + [baseline.get_attribute("src")]
    assert len(sources) >= 5
    pictures = [Image.open(io.BytesIO(page.request.get(src).body())) for src in sources]
    assert all(p.size == (256, 256) for p in pictures)
    assert all(pixel_std(p) > 1.0 for p in pictures), "an output is a flat, blank image"
    assert "CPU" in status.inner_text() and "ms" in status.inner_text()
    strip = Image.open(io.BytesIO(page.request.get(walk.get_attribute("src")).body()))
    assert strip.size == (7 * 256 + 6 * 4, 256) and pixel_std(strip) > 1.0
    assert page.locator(".toast-body.error").count() == 0
    page.close()
    _keep_copy(screenshot)


def test_paint_a_facade_and_translate(browser_context, app_url, tmp_path):
    page = browser_context.new_page()
    page.goto(app_url)
    page.get_by_role("tab", name="facades").click()
    page.locator("#palette-facades").get_by_text("balcony").wait_for(timeout=30_000)  # the named legend
    painter = page.locator("#canvas-facades")
    painter.get_by_role("button", name="Brush", exact=True).click()
    canvas = painter.locator("canvas").first
    # Two windows with the brush's first colour (window) on the wall that fills the empty canvas.
    _draw(page, canvas, [[(-0.1, -0.05), (-0.05, -0.05), (-0.05, 0.0)], [(0.05, -0.05), (0.1, -0.05), (0.1, 0.0)]])
    _settle_preview(page, "facades")
    page.locator("#generate-facades").click()

    page.locator("#status-facades").get_by_text("MSE baseline").wait_for(timeout=60_000)
    samples = page.locator("#samples-facades img")
    samples.nth(3).wait_for(timeout=30_000)
    condition = page.locator("#condition-facades img")
    condition.wait_for(timeout=30_000)
    time.sleep(0.5)
    screenshot = tmp_path / "facades.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")

    painted = Image.open(io.BytesIO(page.request.get(condition.get_attribute("src")).body())).convert("RGB")
    colours = {tuple(int(v) for v in c) for c in np.unique(np.asarray(painted).reshape(-1, 3), axis=0)}
    assert colours == {(0, 48, 254), (0, 127, 254)}, "the condition is the painted wall and windows, snapped"
    pictures = [Image.open(io.BytesIO(page.request.get(samples.nth(i).get_attribute("src")).body()))
                for i in range(samples.count())]
    assert len(pictures) >= 4 and all(pixel_std(p) > 1.0 for p in pictures)
    assert page.locator(".toast-body.error").count() == 0
    page.close()


def test_the_preview_follows_the_drawing_before_generate(browser_context, app_url):
    page = browser_context.new_page()
    page.goto(app_url)
    page.get_by_role("tab", name="sketch2photo").click()
    # These tiny weights were trained apart (not a fine-tuned pair): no realism slider, and the line says why.
    page.locator("#realism-info-sketch2photo").get_by_text("not fine-tuned from a baseline").wait_for(timeout=30_000)
    assert page.locator("#realism-sketch2photo").count() == 0 or not page.locator("#realism-sketch2photo").is_visible()
    sketchpad = page.locator("#canvas-sketch2photo")
    sketchpad.get_by_role("button", name="Brush", exact=True).click()
    canvas = sketchpad.locator("canvas").first
    preview = page.locator("#preview-sketch2photo img")
    uploads = []
    page.on("request", lambda r: uploads.append(r.url) if "/upload" in r.url else None)
    _draw(page, canvas, [[(-0.2, 0.1), (0.0, 0.12), (0.2, 0.1)]])
    preview.wait_for(timeout=30_000)
    first = preview.get_attribute("src")
    _draw(page, canvas, [[(-0.2, -0.1), (0.0, -0.15), (0.2, -0.1), (0.22, 0.05)]])
    page.wait_for_function("(first) => { const img = document.querySelector('#preview-sketch2photo img');"
                           " return img && img.src !== first; }", arg=first, timeout=30_000)
    picture = Image.open(io.BytesIO(page.request.get(preview.get_attribute("src")).body()))
    assert picture.size == (256, 256) and pixel_std(picture) > 1.0
    # Generate was never pressed: its outputs are still empty.
    assert page.locator("#samples-sketch2photo img").count() == 0
    assert page.locator(".toast-body.error").count() == 0
    # The preview read the canvas itself: the editor exported and uploaded nothing per stroke.
    assert uploads == []
    page.close()


def test_generate_right_after_a_stroke_uses_the_drawing(browser_context, app_url):
    """Generate clicked while the stroke's preview is still pending works on the drawing (it once got an empty
    canvas and asked for a second click)."""
    page = browser_context.new_page()
    page.goto(app_url)
    page.get_by_role("tab", name="sketch2photo").click()
    sketchpad = page.locator("#canvas-sketch2photo")
    sketchpad.get_by_role("button", name="Brush", exact=True).click()
    canvas = sketchpad.locator("canvas").first
    _draw(page, canvas, [[(-0.2, 0.0), (0.0, 0.05), (0.2, 0.0)], [(0.0, -0.15), (0.02, 0.15)]])
    page.locator("#generate-sketch2photo").click()  # no wait for the preview
    page.locator("#status-sketch2photo").get_by_text("MSE baseline").wait_for(timeout=60_000)
    condition = page.locator("#condition-sketch2photo img")
    condition.wait_for(timeout=30_000)
    seen = np.asarray(Image.open(io.BytesIO(page.request.get(condition.get_attribute("src")).body())).convert("L"))
    assert (seen < 128).sum() > 50, "the condition holds the strokes"
    assert page.locator(".toast-body.error").count() == 0
    page.close()


def _keep_copy(screenshot: Path) -> None:
    # A stable copy next to pytest's numbered tmp dirs makes the last picture easy to find by hand.
    try:
        shutil.copy(screenshot, screenshot.parents[2] / "img2img-app-screenshot.png")
    except OSError:
        pass


def test_the_shipped_weights_serve_every_tab_with_its_realism_slider(browser_context, tmp_path_factory, tmp_path):
    """The app on the weights in the repository: restore restores an uploaded photo at its own size, uncrop
    extends one; every shipped pair shows the realism slider, a tab whose shipped cGAN is not a pair hides it and
    says why."""
    from img2img.data.procedural import render_scene
    from img2img.inference import default_weights_dir

    host = load_plugins(allow=list(TASKS))
    if any(not (default_weights_dir() / f"{t}-{m}.safetensors").is_file() for t in TASKS for m in ("cgan", "regression")):
        pytest.skip("the shipped weights are not all in this checkout")
    demo, url = start_app(default_weights_dir(), host, tmp_path_factory.mktemp("gradio-shipped"))
    try:
        photo = tmp_path / "photo.png"
        scene = render_scene(3, 160, 200)  # a code-made scene (160 x 200): no dataset image
        Image.fromarray((scene.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(photo)
        page = browser_context.new_page()
        page.goto(url)
        page.get_by_role("tab", name="restore").click()
        page.locator("#realism-restore").wait_for(timeout=60_000)  # a fine-tuned pair: the slider is there
        page.locator("#input-restore input[type=file]").set_input_files(str(photo))
        page.locator("#generate-restore").click()
        status = page.locator("#status-restore")
        status.get_by_text("MSE baseline").wait_for(timeout=120_000)
        samples = page.locator("#samples-restore img")
        samples.first.wait_for(timeout=30_000)
        first = Image.open(io.BytesIO(page.request.get(samples.first.get_attribute("src")).body()))
        assert first.size == (200, 160) and pixel_std(first) > 1.0  # restored at the photo's own size
        page.get_by_role("tab", name="uncrop").click()
        page.locator("#input-uncrop input[type=file]").set_input_files(str(photo))
        page.locator("#generate-uncrop").click()
        page.locator("#status-uncrop").get_by_text("MSE baseline").wait_for(timeout=120_000)
        samples = page.locator("#samples-uncrop img")
        samples.first.wait_for(timeout=30_000)
        wider = Image.open(io.BytesIO(page.request.get(samples.first.get_attribute("src")).body()))
        assert wider.size == (250, 160)  # extended by a quarter on the right (the tab's default), at its own size
        # A shipped pair (ship_weights wrote its realism curve) shows the slider; any other cGAN's tab says why not.
        for task in TASKS:
            page.get_by_role("tab", name=task).click()
            if (default_weights_dir() / f"{task}-realism.json").is_file():
                page.locator(f"#realism-{task}").wait_for(timeout=30_000)
            else:
                page.locator(f"#realism-info-{task}").get_by_text("not fine-tuned from a baseline").wait_for(timeout=30_000)
        assert page.locator(".toast-body.error").count() == 0
        page.close()
    finally:
        demo.close()
