"""Files with messages in a real browser: an agent attaches a file to a reply from the ticket
page's composer, and it is on the ticket and downloadable."""

from __future__ import annotations

from playwright.sync_api import expect

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
