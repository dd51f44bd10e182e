"""The search index follows the database: changes queued with the transaction, applied by the
indexer, rebuilt when missing; staff and customers search within their scope."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import SearchChange
from helpdesk.services import customer_merge, messages, search_sync, tickets
from helpdesk.services.errors import Invalid
from helpdesk.services.permissions import SYSTEM, Actor
from helpdesk.services.search_queries import search
from tests.factories import actor, make_customer, make_ticket, make_user


def _queued() -> int:
    return db.session.scalar(select(func.count()).select_from(SearchChange)) or 0


def _sync(app) -> None:
    ix = search_sync.search_index(app)
    if ix.needs_reindex:
        search_sync.rebuild(ix)
    while search_sync.apply_pending(ix):
        pass


def test_changes_are_queued_with_the_transaction_and_applied(app):
    agent = make_user()
    ticket = make_ticket(
        subject="환불 요청드립니다", body_text="주문한 상품을 환불하려면 어떻게 하나요?"
    )
    assert _queued() == 1
    _sync(app)
    assert _queued() == 0
    found = search(actor(agent), "환불")
    assert [h.id for h in found.hits] == [ticket.id]
    assert found.numbers[ticket.id] == ticket.number
    assert "<mark>" in found.hits[0].title_html

    messages.add_note(actor(agent), ticket.id, body_text="warehouse says parcel lost")
    tickets.update_ticket(actor(agent), ticket.id, {"status": "pending"})
    assert _queued() == 2  # one per transaction
    _sync(app)
    assert [h.id for h in search(actor(agent), "parcel").hits] == [ticket.id]  # staff: notes too


def test_customers_find_only_their_own_tickets_and_never_notes(app):
    kim, lee = make_customer(name="김민수"), make_customer(name="이수진")
    mine = make_ticket(kim, subject="배송 지연 문의", body_text="배송이 늦어요")
    make_ticket(lee, subject="배송 주소 변경", body_text="배송지를 바꾸고 싶어요")
    messages.add_note(actor(make_user()), mine.id, body_text="배송 업체 내부 메모")
    _sync(app)
    as_kim = search(Actor.customer(kim.id), "배송")
    assert [h.id for h in as_kim.hits] == [mine.id]
    assert search(Actor.customer(kim.id), "메모").hits == []
    assert len(search(actor(make_user("sales")), "배송").hits) == 2


def test_a_missing_index_is_rebuilt_and_a_merge_reindexes_the_moved_tickets(app):
    first, second = make_customer(), make_customer()
    moved = make_ticket(first, subject="Invoice copy please")
    _sync(app)
    customer_merge.merge_customers(SYSTEM, first.id, second.id)
    _sync(app)
    assert [h.id for h in search(Actor.customer(second.id), "invoice").hits] == [moved.id]
    assert search(Actor.customer(first.id), "invoice").hits == []

    # The index folder is lost: the next open starts empty and the indexer rebuilds it.
    ix = search_sync.search_index(app)
    ix.close()
    import shutil

    shutil.rmtree(search_sync.index_path(app))
    app.extensions.pop("dangol_search")
    assert search_sync.search_index(app).needs_reindex
    _sync(app)
    assert [h.id for h in search(Actor.customer(second.id), "invoice").hits] == [moved.id]


def test_bad_queries_are_refused_with_a_message(app):
    with pytest.raises(Invalid):
        search(SYSTEM, "   ")
    with pytest.raises(Invalid):
        search(SYSTEM, "x" * 300)


def test_the_indexer_loop_builds_then_follows_within_a_pass(app):
    from helpdesk.search_loop import SearchIndexer

    loop = SearchIndexer()
    make_ticket(subject="첫 번째 문의")
    assert loop.run_once() is True  # first use: the whole index is built
    assert not search_sync.search_index(app).needs_reindex
    later = make_ticket(subject="두 번째 문의입니다")
    assert loop.run_once() is True and loop.run_once() is False  # applied, then idle
    assert [h.id for h in search(SYSTEM, "두 번째").hits] == [later.id]


def test_published_public_articles_reach_the_portal_scope_and_internal_ones_only_staff(app):
    from helpdesk.services import kb_articles
    from knowledge_base.search import SearchScope

    public = kb_articles.save_article(
        SYSTEM,
        {
            "visibility": "public",
            "translations": {"ko": {"title": "환불 안내", "body": "환불은 7일 이내"}},
        },
    )
    internal = kb_articles.save_article(
        SYSTEM,
        {
            "visibility": "internal",
            "translations": {"ko": {"title": "환불 내부 절차", "body": "승인"}},
        },
    )
    _sync(app)
    ix = search_sync.search_index(app)
    assert ix.search("환불", SearchScope.public("ko")).hits == []  # drafts are not public
    kb_articles.publish(SYSTEM, public.id)
    kb_articles.publish(SYSTEM, internal.id)
    _sync(app)
    portal = ix.search("환불", SearchScope.public("ko"))
    assert [(h.kind, h.id) for h in portal.hits] == [("article", public.id)]
    staff = ix.search("환불", SearchScope.staff(None), kinds=["article"])
    assert {h.id for h in staff.hits} == {public.id, internal.id}
    kb_articles.delete_article(SYSTEM, public.id)
    _sync(app)
    assert ix.search("환불", SearchScope.public("ko")).hits == []


def test_in_a_busy_web_process_the_indexer_waits_for_a_quiet_moment_but_not_forever(
    app, monkeypatch
):
    from helpdesk import activity, search_loop

    clock = [100.0]
    monkeypatch.setattr(search_loop.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(activity, "quiet_for", lambda: 0.0)  # requests all the time
    loop = search_loop.SearchIndexer()
    assert loop._may_run() is False
    clock[0] += search_loop.MAX_DEFER - 0.1
    assert loop._may_run() is False
    clock[0] += 0.2
    assert loop._may_run() is True  # waited long enough: index now
    monkeypatch.setattr(activity, "quiet_for", lambda: 1.0)
    assert loop._may_run() is True  # quiet: at once
