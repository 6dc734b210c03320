"""Sign-in end to end: the app behind Streamlit's OpenID Connect sign-in, against a small
OpenID provider this test starts on this machine (no outside network), in real Chromium:
signed out, a viewer, an editor, and an address not on the list."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import oidc_provider_mock
import pytest
from playwright.sync_api import Browser, Page, expect

# Importing it runs its check: without Chromium this module is skipped too, loudly (never in CI).
from tests.test_browser import _free_port, running_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def signed_app(demo_db: Path, provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("signin")
    port = _free_port()
    secrets_file = folder / "secrets.toml"
    secrets_file.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{secrets.token_hex(16)}"\n'
        'client_id = "channel-kpi"\n'
        'client_secret = "test-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
        "\n[access]\n"
        'viewers = ["@example.com"]\n'
        'editors = ["ed@example.com"]\n'
    )
    with running_app(demo_db, folder / "server.log", "--secrets.files", str(secrets_file), port=port) as base:
        yield base


def sign_in(browser: Browser, base: str, email: str) -> Page:
    """A new browser, signed in as `email` through the provider's form."""
    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(base)
    expect(page.get_by_role("heading", name="Channel KPI Explorer")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").fill(email)
    page.get_by_role("button", name="Authorize").click()
    return page


def test_a_viewer_signs_in_sees_the_numbers_and_cannot_load(browser, signed_app):
    page = sign_in(browser, signed_app, "vi@example.com")
    expect(page.get_by_role("heading", name="Program overview")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stSidebar").get_by_text("Signed in as vi@example.com (viewer)")).to_be_visible()
    page.goto(f"{signed_app}/data")
    expect(page.get_by_text("a viewer: loading data and changing scenarios is for editors")).to_be_visible(
        timeout=60_000
    )
    expect(page.get_by_test_id("stFileUploader")).to_have_count(0)
    page.context.close()


def test_an_editor_signs_in_and_may_load(browser, signed_app):
    page = sign_in(browser, signed_app, "ed@example.com")
    expect(page.get_by_role("heading", name="Program overview")).to_be_visible(timeout=60_000)
    page.goto(f"{signed_app}/data")
    expect(page.get_by_test_id("stFileUploader")).to_be_visible(timeout=60_000)
    page.context.close()


def test_an_address_not_on_the_list_is_turned_away(browser, signed_app):
    page = sign_in(browser, signed_app, "mallory@evil.example")
    expect(page.get_by_text("is not on this app's list of people who may open it")).to_be_visible(timeout=60_000)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    expect(page.get_by_role("heading", name="Program overview")).to_have_count(0)
    page.context.close()
