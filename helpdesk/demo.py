"""Demo data: a small Korean-and-English help-desk with tickets on every channel.

Everything goes through the service layer, exactly as real traffic would.
"""

from __future__ import annotations

from sqlalchemy import select

from .models import Ticket, User
from .services import (
    canned_replies,
    customer_events,
    customer_fields,
    customer_notes,
    customers,
    follows,
    kb_articles,
    kb_categories,
    messages,
    sla_admin,
    tickets,
    users,
)
from .services.permissions import SYSTEM, Actor
from .services.transaction import current_session as session

DEMO_PASSWORD = "dangol-demo"

STAFF = [
    ("admin@dangol.test", "관리자 Admin", "admin", "ko", "Asia/Seoul", ["고객지원 Support"]),
    (
        "jimin@dangol.test",
        "김지민",
        "agent",
        "ko",
        "Asia/Seoul",
        ["고객지원 Support", "결제 Billing"],
    ),
    ("alex@dangol.test", "Alex Morgan", "agent", "en", "Europe/London", ["고객지원 Support"]),
    ("sales@dangol.test", "박서준 (Sales)", "sales", "ko", "Asia/Seoul", []),
    ("marketing@dangol.test", "Emma Lee (Marketing)", "marketing", "en", "America/New_York", []),
]

CUSTOMERS = [
    ("이수진", [("email", "sujin.lee@example.kr"), ("phone", "010-2345-6789")], "한빛상사"),
    ("Daniel Park", [("email", "daniel@acme.example"), ("slack", "T0ACME:U0DANIEL")], "Acme Corp"),
    ("최영호", [("phone", "+82 2-555-0199"), ("social", "twitter:@youngho_choi")], None),
    ("Sarah Kim", [("email", "sarah.kim@example.com"), ("chat", "visitor-7f3a")], "Acme Corp"),
]

TICKETS = [
    # customer index, channel, subject, body, priority, tags, group index, assignee email
    (
        0,
        "email",
        "환불 요청드립니다",
        "지난주에 주문한 상품을 환불하려면 어떻게 해야 하나요? 주문번호는 2026-1142입니다.",
        "high",
        ["환불", "주문"],
        1,
        "jimin@dangol.test",
    ),
    (
        1,
        "social",
        "Cannot log in to the dashboard",
        "Since this morning the login page says my password is wrong, although I reset it twice.",
        "urgent",
        ["login"],
        0,
        None,
    ),
    (
        2,
        "phone",
        "배송 지연 문의",
        "고객이 전화로 배송이 일주일째 지연되고 있다고 문의함. 송장번호 확인 요청.",
        "normal",
        ["배송"],
        0,
        None,
    ),
    (
        3,
        "chat",
        "How do I export my invoices?",
        "Is there a way to download all 2026 invoices as PDF?",
        "low",
        ["billing", "export"],
        1,
        "alex@dangol.test",
    ),
    (
        1,
        "email",
        "Invoice address change",
        "Please change our billing address to 12 Teheran-ro, Gangnam-gu, Seoul.",
        "normal",
        ["billing"],
        1,
        None,
    ),
    (
        0,
        "web",
        "앱 알림이 오지 않아요",
        "안드로이드 앱에서 푸시 알림이 전혀 오지 않습니다. 설정은 모두 켜져 있어요.",
        "normal",
        ["앱", "알림"],
        0,
        "jimin@dangol.test",
    ),
]


def _sla_setup() -> None:
    """A Seoul office calendar (lunch break, Korean holidays), a 24/7 one, and three policies:
    urgent tickets around the clock, VIP customers faster, everyone else in office hours."""
    office = sla_admin.save_calendar(
        SYSTEM,
        {
            "name": "서울 본사 Seoul office",
            "timezone": "Asia/Seoul",
            "hours": [["09:00-12:00", "13:00-18:00"]] * 5 + [[], []],
            "holiday_country": "KR",
        },
    )
    always = sla_admin.save_calendar(SYSTEM, {"name": "24/7", "always_open": True})
    escalate = {"warning": {"notify": True}, "breach": {"notify": True, "raise_priority": True}}
    for position, data in enumerate(
        [
            {
                "name": "긴급 Urgent",
                "calendar_id": always.id,
                "conditions": {"priorities": ["urgent"]},
                "first_response_minutes": 30,
                "next_response_minutes": 60,
                "resolution_minutes": 240,
                "escalations": escalate,
            },
            {
                "name": "VIP",
                "calendar_id": office.id,
                "conditions": {"customer_tiers": ["vip"]},
                "first_response_minutes": 60,
                "next_response_minutes": 120,
                "resolution_minutes": 960,
                "escalations": escalate,
            },
            {
                "name": "표준 Standard",
                "calendar_id": office.id,
                "first_response_minutes": 240,
                "next_response_minutes": 480,
                "resolution_minutes": 1440,
            },
        ]
    ):
        sla_admin.save_policy(SYSTEM, {**data, "position": position})


def load_demo() -> list[tuple[str, str]]:
    """Create the demo instance unless it exists; return the staff logins."""
    logins = [(email, role) for email, _, role, *_ in STAFF]
    if session().scalar(select(User.id).where(User.email == STAFF[0][0])) is not None:
        return logins
    group_ids = [
        users.create_group(SYSTEM, name).id for name in ("고객지원 Support", "결제 Billing")
    ]
    group_by_name = {"고객지원 Support": group_ids[0], "결제 Billing": group_ids[1]}
    staff: dict[str, User] = {}
    for email, name, role, locale, zone, groups in STAFF:
        staff[email] = users.create_user(
            SYSTEM,
            email=email,
            name=name,
            password=DEMO_PASSWORD,
            role=role,
            locale=locale,
            timezone=zone,
            group_ids=[group_by_name[g] for g in groups],
        )
    users.set_group_lead(SYSTEM, group_ids[0], staff["jimin@dangol.test"].id)
    _sla_setup()
    orgs: dict[str, int] = {}
    people = []
    for name, identities, org in CUSTOMERS:
        if org and org not in orgs:
            orgs[org] = customers.create_organization(SYSTEM, org).id
        people.append(
            customers.create_customer(
                SYSTEM,
                name=name,
                identities=identities,
                organization_id=orgs.get(org) if org else None,
                locale="ko" if any("\uac00" <= ch <= "\ud7a3" for ch in name) else "en",
                tier="vip" if name == "이수진" else None,
            )
        )
    created: list[Ticket] = []
    for who, channel, subject, body, priority, tags, group, assignee in TICKETS:
        created.append(
            tickets.create_ticket(
                SYSTEM,
                subject=subject,
                body_text=body,
                channel=channel,
                customer_id=people[who].id,
                priority=priority,
                tags=tags,
                group_id=group_ids[group],
                assignee_id=staff[assignee].id if assignee else None,
            )
        )
    jimin, alex = Actor.of(staff["jimin@dangol.test"]), Actor.of(staff["alex@dangol.test"])
    sales = Actor.of(staff["sales@dangol.test"])
    messages.reply_to_ticket(
        jimin,
        created[0].id,
        body_text=(
            "안녕하세요, 이수진 고객님. 환불 접수되었습니다. 영업일 기준 3일 이내에 처리됩니다."
        ),
        status="pending",
    )
    messages.add_note(
        sales,
        created[0].id,
        body_text="VIP 고객입니다. 다음 주 재계약 미팅 예정 — 신속 처리 부탁드려요.",
    )
    messages.add_customer_message(
        SYSTEM, created[0].id, body_text="빠른 답변 감사합니다! 카드 취소로 부탁드려요."
    )
    messages.reply_to_ticket(
        alex,
        created[3].id,
        body_text=(
            "Hi Sarah, go to Billing > Invoices and choose 'Export all'. "
            "You will get a ZIP of PDFs."
        ),
        status="solved",
    )
    messages.add_note(
        alex,
        created[1].id,
        body_text="Looks like the SSO outage from this morning. @jimin can you confirm?",
    )
    duplicate = tickets.create_ticket(
        SYSTEM,
        subject="Login still broken",
        body_text="Any news? My whole team is locked out.",
        channel="email",
        customer_id=people[1].id,
        priority="high",
        group_id=group_ids[0],
    )
    tickets.merge_tickets(jimin, duplicate.id, created[1].id)
    _customer_360(jimin, sales, people[0].id, staff["sales@dangol.test"].id)
    _knowledge_base(jimin)
    _canned_replies(Actor.of(staff["admin@dangol.test"]))
    return logins


def _customer_360(agent: Actor, sales: Actor, customer_id: int, owner_id: int) -> None:
    """The VIP's profile as sales keeps it: account manager, tags, attributes, a note, an order
    from the shop, and the account manager following her."""
    customer_fields.update_profile(
        agent,
        customer_id,
        {
            "owner_id": owner_id,
            "tags": ["vip", "재계약"],
            "attributes": {"plan": "enterprise", "seats": 40, "renewal": "2027-01"},
        },
    )
    customer_notes.add_note(sales, customer_id, "오후 6시 이후 통화 선호. 재계약 미팅 12월 첫 주.")
    customer_events.add_event(
        SYSTEM,
        {
            "kind": "order",
            "title": "주문 #A-1042 프리미엄 요금제 연장 (4,800,000원)",
            "occurred_at": "2026-11-20T10:30:00+09:00",
            "source": "shop",
            "external_id": "A-1042",
        },
        customer_id=customer_id,
    )
    follows.follow(sales, customer_id=customer_id)


def _knowledge_base(author: Actor) -> None:
    """Two published articles in Korean and English, and one internal how-to."""
    category = kb_categories.save_category(author, {"name_ko": "결제와 환불", "name_en": "Billing"})
    articles = [
        (
            "public",
            ("환불은 어떻게 받나요?", "주문 후 **7일 이내**에 *내 주문*에서 환불을 요청하세요."),
            ("How do I get a refund?", "Ask for a refund from *My orders* within **7 days**."),
        ),
        (
            "public",
            ("영수증을 다시 받고 싶어요", "*결제 내역*에서 영수증 PDF를 내려받을 수 있습니다."),
            ("Can I get my invoice again?", "Download the PDF from *Billing > Invoices*."),
        ),
        ("internal", ("환불 승인 절차 (내부)", "10만 원 이상은 팀장 승인이 필요합니다."), None),
    ]
    for visibility, korean, english in articles:
        translations = {"ko": {"title": korean[0], "body": korean[1]}}
        if english:
            translations["en"] = {"title": english[0], "body": english[1]}
        article = kb_articles.save_article(
            author,
            {"category_id": category.id, "visibility": visibility, "translations": translations},
        )
        kb_articles.publish(author, article.id)


def _canned_replies(admin: Actor) -> None:
    """Three replies shared with the team, for the composer's "/" list and panel."""
    for title, shortcut, body in [
        (
            "환불 접수 안내",
            "환불",
            "안녕하세요, {{customer.first_name}} 고객님. 문의하신 #{{ticket.number}} 건의 환불이 "
            "접수되었습니다. 영업일 기준 3일 이내에 처리됩니다.\n\n{{agent.name}} 드림",
        ),
        (
            "배송 지연 사과",
            "배송",
            "{{customer.name}} 고객님, 배송이 늦어져 죄송합니다. 송장번호를 확인하는 대로 "
            "바로 알려 드리겠습니다.",
        ),
        (
            "Password reset steps",
            "reset",
            "Hi {{customer.first_name}},\n\nOpen the sign-in page, choose *Forgot password* and "
            "follow the link we email you (it works for 20 minutes).\n\nBest,\n{{agent.name}}",
        ),
    ]:
        canned_replies.create_reply(admin, title=title, body=body, shortcut=shortcut, shared=True)
