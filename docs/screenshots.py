"""Regenerate the README's screenshots from a running demo (`fishwatch demo`), in Debian's
Chromium through Playwright:

    python docs/screenshots.py --url http://127.0.0.1:8000 \\
        --staff fishery:PASSWORD --dispatcher dispatcher:PASSWORD

(the passwords are the ones the demo printed). Writes docs/images/inbox-phone.png (a fishery
officer's inbox on a phone) and docs/images/overview.png (the dispatcher's overview).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/lib/chromium/chromium"
IMAGES = Path(__file__).resolve().parent / "images"


def sign_in(browser: Browser, url: str, credentials: str, **context: object) -> object:
    username, password = credentials.split(":", 1)
    page = browser.new_context(**context).new_page()
    page.goto(f"{url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button.primary")
    page.wait_for_load_state("networkidle")
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--staff", required=True, help="USER:PASSWORD of department staff")
    parser.add_argument("--dispatcher", required=True, help="USER:PASSWORD of a dispatcher")
    args = parser.parse_args()
    IMAGES.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        phone = sign_in(browser, args.url, args.staff, viewport={"width": 390, "height": 844},
                        device_scale_factor=2, is_mobile=True, has_touch=True)
        phone.goto(f"{args.url}/inbox?tab=open")
        phone.screenshot(path=IMAGES / "inbox-phone.png")
        desk = sign_in(browser, args.url, args.dispatcher,
                       viewport={"width": 1280, "height": 900})
        desk.goto(f"{args.url}/overview")
        desk.screenshot(path=IMAGES / "overview.png", full_page=True)
        browser.close()
    print(f"wrote {IMAGES / 'inbox-phone.png'} and {IMAGES / 'overview.png'}")


if __name__ == "__main__":
    main()
