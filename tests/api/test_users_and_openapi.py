"""REST API v1: the caller's own account, and the OpenAPI document."""

from __future__ import annotations

import re

from helpdesk.services import users
from helpdesk.services.permissions import SYSTEM
from tests.api.helpers import API, assert_error, bearer, user_with_token
from tests.factories import make_group, make_user, token_for

# --- /users/me ---------------------------------------------------------------------------------


def test_me_is_the_tokens_owner(client):
    billing, support = make_group("Billing"), make_group("기술지원")
    user = users.create_user(
        SYSTEM,
        email="Seo.Yeon@Dangol.test",
        name="서연",
        password="correct-horse",
        role="sales",
        locale="ko",
        timezone="Asia/Seoul",
        group_ids=[billing.id, support.id],
    )
    response = client.get(f"{API}/users/me", headers=bearer(token_for(user)))
    assert response.status_code == 200
    me = response.get_json()
    groups = sorted(me.pop("groups"), key=lambda g: g["id"])
    assert groups == [{"id": billing.id, "name": "Billing"}, {"id": support.id, "name": "기술지원"}]
    assert me == {
        "id": user.id,
        "email": "seo.yeon@dangol.test",
        "name": "서연",
        "role": "sales",
        "locale": "ko",
        "timezone": "Asia/Seoul",
    }
    body = response.get_data(as_text=True)
    assert "password" not in body and "argon2" not in body


def test_each_token_answers_for_its_own_user(client):
    for role in ("admin", "agent", "sales", "marketing"):
        user, headers = user_with_token(role)
        me = client.get(f"{API}/users/me", headers=headers).get_json()
        assert (me["id"], me["role"], me["email"]) == (user.id, role, user.email)


def test_me_without_credentials_is_401(client):
    make_user()
    assert_error(client.get(f"{API}/users/me"), 401, "unauthorized")


# --- OpenAPI -----------------------------------------------------------------------------------


def _spec(client):
    response = client.get(f"{API}/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def test_openapi_is_served_without_credentials_and_is_openapi_3(client):
    spec = _spec(client)
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Dangol REST API"
    assert spec["info"]["version"] == "v1"
    # A bad token does not get in the way of reading the document either.
    response = client.get(f"{API}/openapi.json", headers=bearer("dgl_nonsense"))
    assert response.status_code == 200


def test_openapi_declares_bearer_security(client):
    spec = _spec(client)
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    assert spec["security"] == [{"bearer": []}]


def test_openapi_lists_every_route_and_method(app, client):
    spec = _spec(client)
    documented = {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    }
    served = {
        (method, re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(API) and not rule.rule.endswith("openapi.json")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert len(served) == 85
    assert documented == served


def test_openapi_documents_parameters_bodies_and_responses(client):
    spec = _spec(client)
    paths = spec["paths"]

    listing = paths[f"{API}/tickets"]["get"]
    params = {p["name"]: p for p in listing["parameters"] if p["in"] == "query"}
    assert set(params) >= {
        "status",
        "assignee",
        "group",
        "customer",
        "tag",
        "channel",
        "updated_since",
        "sort",
        "cursor",
        "limit",
    }
    assert params["updated_since"]["schema"]["format"] == "date-time"
    assert params["limit"]["schema"]["maximum"] == 100
    assert params["sort"]["schema"]["enum"] == [
        "-updated_at",
        "updated_at",
        "-created_at",
        "created_at",
        "sla_due_at",
    ]

    create = paths[f"{API}/tickets"]["post"]
    assert "201" in create["responses"]
    body_ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body_schema = spec["components"]["schemas"][body_ref.rsplit("/", 1)[1]]
    assert {"subject", "body", "customer_id", "customer"} <= set(body_schema["properties"])
    assert "subject" in body_schema["required"]

    patch = paths[f"{API}/tickets/{{ticket_id}}"]["patch"]
    patch_ref = patch["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    patch_schema = spec["components"]["schemas"][patch_ref.rsplit("/", 1)[1]]
    assert "version" in patch_schema["properties"]

    # Every operation documents its success response and the error format.
    error_schemas = [
        name
        for name, schema in spec["components"]["schemas"].items()
        if "error" in schema.get("properties", {})
    ]
    assert error_schemas, "the error format is not in the document"
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in {"get", "post", "patch"}:
                continue
            codes = set(operation["responses"])
            assert codes & {"200", "201"}, (method, path)
            assert "default" in codes, (method, path)


def test_users_and_groups_give_integrators_the_ids_they_need(app, client):
    from helpdesk.extensions import db
    from helpdesk.models import User

    billing = make_group("결제 Billing")
    agent = make_user(name="김지민", group_ids=[billing.id])
    sales = make_user("sales", name="Alex")
    retired = make_user(name="Retired")
    db.session().get(User, retired.id).is_active = False
    db.session().commit()
    headers = {"Authorization": f"Bearer {token_for(sales)}"}
    listed = client.get(f"{API}/users", headers=headers).get_json()
    assert [u["name"] for u in listed] == ["Alex", "김지민"]  # active staff only, by name
    assert listed[1]["id"] == agent.id
    assert listed[1]["groups"] == [{"id": billing.id, "name": "결제 Billing"}]
    assert all("password" not in key for u in listed for key in u)
    assert client.get(f"{API}/groups", headers=headers).get_json() == [
        {"id": billing.id, "name": "결제 Billing"}
    ]


def test_created_resources_say_where_they_live(app, client):
    from tests.factories import make_customer

    headers = {"Authorization": f"Bearer {token_for(make_user())}"}
    customer = make_customer()
    ticket = client.post(
        f"{API}/tickets",
        json={"subject": "x", "body": "y", "customer_id": customer.id},
        headers=headers,
    )
    assert ticket.status_code == 201
    assert ticket.headers["Location"] == f"{API}/tickets/{ticket.get_json()['id']}"
    assert client.get(ticket.headers["Location"], headers=headers).status_code == 200
    created = client.post(
        f"{API}/customers",
        json={"name": "New", "identities": [{"kind": "email", "value": "loc@example.com"}]},
        headers=headers,
    )
    assert created.headers["Location"] == f"{API}/customers/{created.get_json()['id']}"
