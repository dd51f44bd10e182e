"""Staff writing in a real browser: a file attached to a reply from the ticket page's composer
is on the ticket and downloadable; a ticket opened by hand for a phone call finds its caller."""

from __future__ import annotations

from playwright.sync_api import expect

from helpdesk.services import customers
from helpdesk.services.permissions import SYSTEM
from tests.browser.test_staff_pages import sign_in
from tests.factories import make_customer, make_ticket, make_user


def test_an_agent_attaches_a_file_to_a_reply_from_the_composer(app, browser, live_server, tmp_path):
    agent = make_user(name="김지민", locale="ko")
    ticket = make_ticket(
        make_customer(name="이수진"), subject="견적 요청", body_text="견적서 부탁드려요."
    )
    quote = tmp_path / "견적서.pdf"
    quote.write_bytes(b"%PDF-1.7 quote")

    context = browser.new_context(locale="ko-KR", accept_downloads=True)
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.goto(f"{live_server.url}/tickets/{ticket.number}")
    page.fill("textarea[name=body]", "견적서를 첨부합니다.")
    page.set_input_files("#attachments", str(quote))
    page.click("button[name=kind][value=reply]")
    page.wait_for_selector("text=답변을 보냈습니다.")

    reply = page.locator("article.message", has_text="견적서를 첨부합니다.")
    link = reply.locator("ul.attachments a")
    expect(link).to_have_text("견적서.pdf")
    with page.expect_download() as download:
        link.click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes() == b"%PDF-1.7 quote"
    assert download.value.suggested_filename == "견적서.pdf"
    context.close()


def test_an_agent_opens_a_ticket_for_a_phone_call_from_the_queue(
    app, browser, live_server, screenshot
):
    agent = make_user(name="김지민", locale="ko")
    customers.create_customer(SYSTEM, name="박민수", identities=[("phone", "010-2345-6789")])
    context = browser.new_context(locale="ko-KR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, live_server, agent.email)
    page.click("#new-ticket")
    page.fill("input[name=identity]", "+82 10 2345 6789")
    page.fill("input[name=subject]", "결제 오류 전화 문의")
    page.fill("textarea[name=body]", "카드 결제가 두 번 됐다고 전화하셨습니다.")
    page.select_option("select[name=priority]", "high")
    screenshot(page, "ticket-new-ko")
    page.click("#new-ticket-form button[type=submit]")
    page.wait_for_selector("text=결제 오류 전화 문의")
    expect(page.locator("article.message").first).to_contain_text("카드 결제가 두 번")
    expect(page.locator(".side")).to_contain_text("박민수")  # the caller was recognised
    context.close()
