"""Repeated failed sign-ins from one address are slowed down (HTTP 429)."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factories import make_user


@pytest.fixture
def app_overrides():
    return {"login_rate_limit": "3 per minute"}


def test_fourth_attempt_in_a_minute_is_refused(app, client):
    user = make_user()
    codes = [login(client, user.email, "wrong-password").status_code for _ in range(3)]
    assert codes == [400, 400, 400]
    assert login(client, user.email).status_code == 429
