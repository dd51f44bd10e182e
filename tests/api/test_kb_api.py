"""The knowledge base API as an integrator uses it: shelve categories, write an article in Korean
and English, revise, publish one language, list with filters, read the history, delete."""

from __future__ import annotations

from typing import Any

from helpdesk.services import kb
from tests.api.helpers import API, assert_error, user_with_token


def _post_article(client, headers, **data: Any) -> dict[str, Any]:
    body = {
        "visibility": "public",
        "translations": {
            "ko": {"title": "배송 조회 방법", "body": "## 조회\n\n**주문 번호**로 조회하세요."},
            "en": {"title": "How to track a delivery", "body": "Use your **order number**."},
        },
    }
    body.update(data)
    response = client.post(f"{API}/kb/articles", headers=headers, json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_categories_are_created_nested_listed_changed_and_deleted(client):
    _, headers = user_with_token("agent")
    created = client.post(
        f"{API}/kb/categories", headers=headers, json={"name_ko": "결제", "name_en": "Billing"}
    )
    assert created.status_code == 201
    billing = created.get_json()
    assert created.headers["Location"].endswith(f"/kb/categories/{billing['id']}")
    assert billing == {
        "id": billing["id"],
        "name_ko": "결제",
        "name_en": "Billing",
        "position": 0,
        "parent_id": None,
    }
    refunds = client.post(
        f"{API}/kb/categories",
        headers=headers,
        json={"name_ko": "환불", "parent_id": billing["id"], "position": 2},
    ).get_json()
    deeper = client.post(
        f"{API}/kb/categories",
        headers=headers,
        json={"name_en": "Too deep", "parent_id": refunds["id"]},
    )
    assert_error(deeper, 422, "invalid", "parent_id")
    assert_error(client.post(f"{API}/kb/categories", headers=headers, json={}), 422, "invalid")

    listed = client.get(f"{API}/kb/categories", headers=headers).get_json()
    assert [(c["id"], c["parent_id"]) for c in listed] == [
        (billing["id"], None),
        (refunds["id"], billing["id"]),
    ]
    changed = client.put(
        f"{API}/kb/categories/{refunds['id']}",
        headers=headers,
        json={"name_ko": "환불", "name_en": "Refunds", "position": 1},
    )
    assert changed.status_code == 200
    assert changed.get_json()["name_en"] == "Refunds" and changed.get_json()["parent_id"] is None

    _post_article(client, headers, category_id=refunds["id"])
    assert_error(client.delete(f"{API}/kb/categories/{refunds['id']}", headers=headers), 409)
    assert client.delete(f"{API}/kb/categories/{billing['id']}", headers=headers).status_code == 204
    assert_error(client.get(f"{API}/kb/categories/{billing['id']}", headers=headers), 404)


def test_an_article_is_written_revised_published_and_read_back(client):
    writer, headers = user_with_token("agent", name="박상담")
    article = _post_article(client, headers)
    korean, english = article["translations"]["ko"], article["translations"]["en"]
    assert korean["slug"] == "배송-조회-방법" and english["slug"] == "how-to-track-a-delivery"
    assert korean["body_html"] == "<h2>조회</h2>\n<p><strong>주문 번호</strong>로 조회하세요.</p>\n"
    assert korean["status"] == english["status"] == "draft" and korean["published_at"] is None
    assert article["visibility"] == "public" and article["created_by_id"] == writer.id
    assert korean["view_count"] == 0 and korean["helpful_percent"] is None

    revised = client.put(
        f"{API}/kb/articles/{article['id']}/translations/en",
        headers=headers,
        json={
            "title": "Tracking a delivery",
            "body": "Use the order number.\n<script>x()</script>",
        },
    )
    assert revised.status_code == 200, revised.get_json()
    assert revised.get_json()["slug"] == "tracking-a-delivery"  # still a draft: follows the title
    assert "<script" not in revised.get_json()["body_html"]

    published = client.post(
        f"{API}/kb/articles/{article['id']}/publish", headers=headers, json={"locales": ["ko"]}
    )
    assert published.status_code == 200
    states = {k: t["status"] for k, t in published.get_json()["translations"].items()}
    assert states == {"ko": "published", "en": "draft"}
    assert kb.public_article("ko", "배송-조회-방법").article_id == article["id"]

    everything = client.post(f"{API}/kb/articles/{article['id']}/publish", headers=headers)
    assert everything.status_code == 200
    assert everything.get_json()["translations"]["en"]["published_at"] is not None

    unpublished = client.post(f"{API}/kb/articles/{article['id']}/unpublish", headers=headers)
    assert {t["status"] for t in unpublished.get_json()["translations"].values()} == {"draft"}

    history = client.get(f"{API}/kb/articles/{article['id']}/revisions", headers=headers)
    assert [(r["locale"], r["title"], r["author_name"]) for r in history.get_json()] == [
        ("en", "Tracking a delivery", "박상담"),
        ("en", "How to track a delivery", "박상담"),
        ("ko", "배송 조회 방법", "박상담"),
    ]
    read = client.get(f"{API}/kb/articles/{article['id']}", headers=headers).get_json()
    assert read["translations"]["en"]["body"].startswith("Use the order number.")


def test_changing_an_article_leaves_out_what_is_not_sent(client):
    _, headers = user_with_token("admin")
    article = _post_article(client, headers, visibility="internal")
    changed = client.put(
        f"{API}/kb/articles/{article['id']}",
        headers=headers,
        json={"translations": {"ko": {"title": "배송 조회", "body": "새 내용"}}},
    )
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["visibility"] == "internal"  # not sent: not made public by omission
    assert body["translations"]["ko"]["title"] == "배송 조회"
    assert body["translations"]["en"]["title"] == "How to track a delivery"
    assert_error(
        client.put(
            f"{API}/kb/articles/{article['id']}", headers=headers, json={"visibility": "secret"}
        ),
        422,
        "invalid",
        "visibility",
    )
    assert_error(
        client.put(
            f"{API}/kb/articles/{article['id']}/translations/ja",
            headers=headers,
            json={"title": "配送"},
        ),
        404,
        "not_found",
    )
    assert_error(
        client.post(
            f"{API}/kb/articles", headers=headers, json={"translations": {"ko": {"body": "x"}}}
        ),
        422,
        "invalid",
    )
    assert_error(
        client.post(f"{API}/kb/articles", headers=headers, json={"translations": {}}),
        422,
        "invalid",
        "translations",
    )


def test_the_list_filters_and_pages(client):
    _, headers = user_with_token("agent")
    drafts = [
        _post_article(client, headers, translations={"en": {"title": f"Draft {n}"}})
        for n in range(3)
    ]
    internal = _post_article(client, headers, visibility="internal")
    client.post(
        f"{API}/kb/articles/{internal['id']}/publish", headers=headers, json={"locales": ["ko"]}
    )

    def ids(**query: Any) -> tuple[list[int], int]:
        response = client.get(f"{API}/kb/articles", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        return [a["id"] for a in page["items"]], page["total"]

    assert ids() == ([internal["id"], *[d["id"] for d in reversed(drafts)]], 4)
    assert ids(locale="ko") == ([internal["id"]], 1)
    assert ids(status="published") == ([internal["id"]], 1)
    assert ids(locale="en", status="draft")[1] == 4
    assert ids(visibility="public", limit=2, offset=1) == ([drafts[1]["id"], drafts[0]["id"]], 3)
    item = client.get(f"{API}/kb/articles", headers=headers, query_string={"limit": 1}).get_json()
    assert "body" not in item["items"][0]["translations"]["ko"]  # the list leaves bodies out
    assert_error(
        client.get(f"{API}/kb/articles", headers=headers, query_string={"stauts": "draft"}),
        422,
        "invalid",
    )


def test_readers_read_and_writers_delete(client):
    _, writer = user_with_token("agent")
    _, sales = user_with_token("sales", locale="ko")
    article = _post_article(client, writer)
    assert client.get(f"{API}/kb/articles/{article['id']}", headers=sales).status_code == 200
    refused = assert_error(
        client.post(f"{API}/kb/articles/{article['id']}/publish", headers=sales), 403, "forbidden"
    )
    assert "kb.write" in refused["message"]
    assert client.delete(f"{API}/kb/articles/{article['id']}", headers=writer).status_code == 204
    assert_error(client.get(f"{API}/kb/articles/{article['id']}", headers=sales), 404)
    assert_error(client.get(f"{API}/kb/articles/{article['id']}/revisions", headers=sales), 404)
