"""The help center in a real browser: a Korean visitor searches, reads, votes and writes to us."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request

import redis
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Ticket
from helpdesk.services import kb_articles, kb_categories
from helpdesk.services.permissions import SYSTEM
from tests.browser.conftest import REDIS_URL

TITLE = "환불하려면 어떻게 하나요?"


def _wait_for_index(base: str, prefix: str, timeout: float = 30) -> None:
    """The live server's indexer applies the queued articles (or builds the missing index)."""
    url = f"{base}/help/ko/suggest?q={urllib.parse.quote(prefix)}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=5) as response:
            if json.loads(response.read()):
                return
        time.sleep(0.3)
    raise AssertionError(f"the search index never found {prefix!r}")


def test_a_visitor_finds_an_article_votes_and_writes_to_us(app, browser, live_server, screenshot):
    # The contact form's per-address limit counts in the shared Redis across runs.
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter("LIMITER*portal.contact*"):
        store.delete(key)
    billing = kb_categories.save_category(SYSTEM, {"name_ko": "결제", "name_en": "Billing"})
    saved = kb_articles.save_article(
        SYSTEM,
        {
            "category_id": billing.id,
            "translations": {
                "ko": {"title": TITLE, "body": "주문 내역에서 **환불 신청**을 누르세요."},
                "en": {"title": "How do I get a refund?", "body": "Use your order history."},
            },
        },
    )
    kb_articles.publish(SYSTEM, saved.id)
    _wait_for_index(live_server.url, "환불")

    context = browser.new_context(locale="ko-KR", viewport={"width": 1100, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/help/ko")
    expect(page.locator(".portal-categories")).to_contain_text(TITLE)
    page.locator("#portal-q").press_sequentially("환부", delay=50)  # 환불, still being typed
    suggestion = page.locator(".suggestions a", has_text=TITLE)
    expect(suggestion).to_be_visible()
    suggestion.click()

    expect(page.locator(".portal-article h1")).to_have_text(TITLE)
    expect(page.locator(".kb-body strong")).to_have_text("환불 신청")
    page.click("button[name=helpful][value=yes]")
    expect(page.locator("#vote")).not_to_contain_text("Yes")  # answered: no more buttons
    expect(page.locator(".flash.success")).to_be_visible()

    page.click(".portal-foot a")
    page.fill("#contact-name", "이수진")
    page.fill("#contact-email", "sujin@example.kr")
    page.locator("#contact-subject").press_sequentially("환불", delay=50)
    expect(page.locator(".suggestions a", has_text=TITLE)).to_have_attribute(
        "href", f"/help/ko/{urllib.parse.quote('환불하려면-어떻게-하나요')}?from=contact"
    )
    page.fill("#contact-message", "지난주 주문을 환불하고 싶어요.")
    screenshot(page, "portal-ko")
    page.click(".portal-contact button[type=submit]")
    expect(page.locator(".ticket-number")).to_have_text(re.compile(r"^#\d+$"))
    db.session.rollback()
    ticket = db.session.scalars(select(Ticket)).one()
    assert ticket.channel == "web" and ticket.subject == "환불"
    assert page.locator(".ticket-number").text_content() == f"#{ticket.number}"
    context.close()
