"""Sign-in and roles: who may open the app, and who may load data or change scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP
from ui import access
from ui import format as fmt
from ui.access import EDITOR, VIEWER, Rules, role_of, rules_from

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "not-a-real-secret",
    "client_id": "kpi",
    "client_secret": "kpi",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
LIST = {"viewers": ["@example.com", "carol@partner.example"], "editors": ["ed@example.com"]}


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("ed@example.com", EDITOR),
        ("Ed@Example.COM ", EDITOR),  # addresses are compared without case
        ("vi@example.com", VIEWER),  # everyone at the domain
        ("carol@partner.example", VIEWER),
        ("dave@partner.example", None),
        ("mallory@evil.example", None),
        ("vi@notexample.com", None),  # a domain entry is the whole domain, not a suffix of a name
        ("", None),
        (None, None),
        ("a@b@example.com", None),
    ],
)
def test_the_allow_list_decides_the_role(email, role):
    rules = rules_from(LIST)
    assert rules == Rules(viewers=("@example.com", "carol@partner.example"), editors=("ed@example.com",))
    assert role_of(email, rules) == role


@pytest.mark.parametrize(
    "section",
    [
        {"viewers": "vi@example.com"},  # a text, not a list
        {"viewers": ["*"]},
        {"viewers": ["everyone"]},
        {"viewers": ["@com"]},
        {"viewers": ["@"]},
        {"editors": [None, 7, "ed @example.com"]},
        {},
        None,
    ],
)
def test_an_entry_this_code_does_not_understand_lets_nobody_in(section):
    rules = rules_from(section)
    for email in ("vi@example.com", "ed@example.com", "everyone@com"):
        assert role_of(email, rules) is None


def signed(db: Path, monkeypatch: pytest.MonkeyPatch, user: dict | None, page: str = "overview") -> AppTest:
    monkeypatch.setenv("KPI_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = AUTH
    at.secrets["access"] = LIST
    at.user = user if user is not None else {"is_logged_in": False}
    at.switch_page(f"pages/{page}.py")
    return at.run()


def test_a_signed_out_visitor_sees_only_the_sign_in(demo_db, monkeypatch):
    at = signed(demo_db, monkeypatch, None)
    assert not at.exception
    assert [t.value for t in at.title] == ["Channel KPI Explorer"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric and not at.sidebar.slider  # no number, no control of the app
    at = signed(demo_db, monkeypatch, None, page="data")
    assert [b.label for b in at.button] == ["Sign in"] and not at.file_uploader


def test_an_address_not_on_the_list_is_turned_away_by_name(demo_db, monkeypatch):
    at = signed(demo_db, monkeypatch, {"is_logged_in": True, "email": "mallory@evil.example"})
    assert not at.exception
    assert f"{fmt.plain('mallory@evil.example')} is not on this app's list" in at.error[0].value
    assert [b.label for b in at.button] == ["Sign out"]
    assert not at.metric and not at.sidebar.slider


def test_a_viewer_sees_the_numbers_and_moves_controls_but_changes_nothing(demo_db, monkeypatch):
    viewer = {"is_logged_in": True, "email": "vi@example.com"}
    at = signed(demo_db, monkeypatch, viewer)
    assert not at.exception and at.metric
    at.slider(key="min_trainings").set_value(3).run()
    assert not at.exception and at.slider(key="min_trainings").value == 3
    assert f"Signed in as {fmt.plain('vi@example.com')} (viewer)" in [c.value for c in at.sidebar.caption]
    at = signed(demo_db, monkeypatch, viewer, page="data")
    assert not at.file_uploader and "a viewer" in at.info[0].value
    assert not [b for b in at.button if b.key == "data_restore"]
    at = signed(demo_db, monkeypatch, viewer, page="whatif")
    assert "a viewer" in " ".join(i.value for i in at.info)
    assert not [b for b in at.button if b.key == "whatif_save"]


def test_an_editor_may_load_and_manage_scenarios(demo_db, monkeypatch):
    editor = {"is_logged_in": True, "email": "ed@example.com"}
    at = signed(demo_db, monkeypatch, editor, page="data")
    assert not at.exception and at.file_uploader
    at = signed(demo_db, monkeypatch, editor, page="whatif")
    assert [b for b in at.button if b.key == "whatif_save"]


@pytest.mark.parametrize(("setting", "can_load"), [(None, False), ("1", True), ("maybe", False), ("0", False)])
def test_served_to_other_machines_without_sign_in_nobody_loads_unless_enabled(demo_db, monkeypatch, setting, can_load):
    monkeypatch.setattr(access, "serves_this_machine_only", lambda: False)
    if setting is None:
        monkeypatch.delenv("KPI_LOADING_WITHOUT_SIGN_IN", raising=False)
    else:
        monkeypatch.setenv("KPI_LOADING_WITHOUT_SIGN_IN", setting)
    monkeypatch.setenv("KPI_DB", str(demo_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception
    assert bool(at.file_uploader) is can_load
    if not can_load:
        assert "served to other machines without sign-in" in at.info[0].value


def test_sign_in_half_set_up_lets_nobody_in_and_names_what_is_missing(demo_db, monkeypatch):
    monkeypatch.setenv("KPI_DB", str(demo_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets["auth"] = {key: value for key, value in AUTH.items() if key not in ("client_secret", "cookie_secret")}
    at.user = {"is_logged_in": True, "email": "ed@example.com"}  # even a listed editor
    at.run()
    assert not at.exception
    assert "lacks `cookie_secret`, `client_secret`" in at.error[0].value
    assert not at.button and not at.metric and not at.sidebar.slider
