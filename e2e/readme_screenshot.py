"""The README's screenshot: a real photo in the page, its crop square moved onto the subject and
the occlusion map over it, taken in Debian's Chromium against the real server and shipped model.

    .venv/bin/python -m e2e.readme_screenshot PHOTO [--out docs/screenshot.png]

The shipped screenshot uses "Chelsea the cat" from scikit-image's sample data (CC0, photo by
Stéfan van der Walt): a licence-clean real photo that is not part of any dataset used here.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from backend.config import from_env
from e2e.conftest import CHROMIUM, ROOT_FLAGS
from tests.server import running_server


def take(photo: Path, out: Path, crop_keys: list[str]) -> None:
    from playwright.sync_api import sync_playwright

    model = from_env()["MODEL_PATH"]
    # Without the example row: its pictures are CIFAR-10 images, which may not enter the repository
    # (not even inside a screenshot).
    with tempfile.TemporaryDirectory() as no_examples, \
            running_server(model, EXAMPLES_DIR=no_examples) as (_, url), sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ROOT_FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 860}, device_scale_factor=1)
        page.goto(url)
        page.set_input_files("[data-testid=file-input]", str(photo))
        page.wait_for_selector("[data-testid=results] [data-testid=bar]")
        page.locator("[data-testid=crop]").focus()
        with page.expect_response(lambda r: r.url.endswith("/api/predict")):
            for key in crop_keys:
                page.keyboard.press(key)
        page.wait_for_selector("[data-testid=preview-overlay]:not([hidden])", timeout=30000)
        page.evaluate("document.activeElement.blur()")
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=False)
        browser.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path, default=Path("docs/screenshot.png"))
    # For Chelsea (451 x 300): a square of 80 % of the height in the top right corner, on the cat.
    parser.add_argument("--keys", default="Minus Minus Minus Minus Minus Shift+ArrowRight Shift+ArrowRight "
                                          "Shift+ArrowRight Shift+ArrowRight Shift+ArrowUp",
                        help="keys pressed on the crop square (default: %(default)s)")
    args = parser.parse_args(argv)
    take(args.photo, args.out, args.keys.split())
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
