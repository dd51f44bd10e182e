"""Refresh the README screenshots from a running demo (`./scripts/demo.sh`).

Usage: .venv/bin/python scripts/screenshots.py [http://127.0.0.1:5000]
Drives Debian's Chromium with Playwright; writes docs/screenshots/*.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        shots = (
            ("jimin@dangol.test", "ko-KR", "ko", "환불 요청드립니다"),
            ("alex@dangol.test", "en-US", "en", "Cannot log in to the dashboard"),
        )
        for email, locale, suffix, subject in shots:
            page = browser.new_context(
                locale=locale, viewport={"width": 1280, "height": 720}
            ).new_page()
            page.goto(f"{base}/login")
            if suffix == "en":
                page.screenshot(path=str(OUT / "login-en.png"))
            page.fill("input[name=email]", email)
            page.fill("input[name=password]", "dangol-demo")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/tickets")
            page.screenshot(path=str(OUT / f"queue-{suffix}.png"))
            page.click(f"table.queue a:text('{subject}')")
            page.wait_for_selector("article.message")
            page.screenshot(path=str(OUT / f"ticket-{suffix}.png"), full_page=True)
            page.click(".customer-panel h2 a")  # the customer's whole history
            page.wait_for_selector(".summary")
            page.screenshot(path=str(OUT / f"customer-{suffix}.png"), full_page=True)
            if suffix == "ko":  # the customer's company: its people and their tickets
                page.click("a:text('한빛상사')")
                page.wait_for_url("**/organizations/*")
                page.screenshot(path=str(OUT / "organization-ko.png"), full_page=True)
        # The admin's set-up pages.
        page = browser.new_context(
            locale="ko-KR", viewport={"width": 1280, "height": 720}
        ).new_page()
        page.goto(f"{base}/login")
        page.fill("input[name=email]", "admin@dangol.test")
        page.fill("input[name=password]", "dangol-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/tickets")
        page.goto(f"{base}/admin/sla")
        page.screenshot(path=str(OUT / "sla-admin.png"), full_page=True)
        page.click("a:text('표준 Standard')")
        page.wait_for_selector("form")
        page.screenshot(path=str(OUT / "sla-policy.png"), full_page=True)
        page.goto(f"{base}/kb")
        page.screenshot(path=str(OUT / "kb-list.png"), full_page=True)
        # The customers' side: the self-service portal, in Korean.
        portal = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 720})
        page = portal.new_page()
        page.goto(f"{base}/help/ko")
        page.screenshot(path=str(OUT / "portal-ko.png"), full_page=True)
        page.click("a:text('환불은 어떻게 받나요?')")
        page.wait_for_selector("article")
        page.screenshot(path=str(OUT / "portal-article-ko.png"), full_page=True)
        page.goto(f"{base}/help/ko/account/sign-in")
        page.screenshot(path=str(OUT / "portal-sign-in-ko.png"), full_page=True)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000")
