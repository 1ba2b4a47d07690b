"""Browser-test fixtures: a user signed in through the real login form.

Playwright (pytest-playwright's `page`) drives Debian's chromium (launch
arguments in tests/conftest.py) against pytest-django's `live_server`; the
tests use `transactional_db` because the server thread must see the rows the
test writes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import PASSWORD


def sign_in_through_form(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Open the login page, type the credentials and submit, as a person would."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/patients/**")


@pytest.fixture
def sign_in(page, live_server, transactional_db) -> Callable[[object], object]:
    """`sign_in(user)` signs that user in through the login form; returns the page."""

    def _sign_in(user, password: str = PASSWORD):
        sign_in_through_form(page, live_server, user.get_username(), password)
        return page

    return _sign_in
