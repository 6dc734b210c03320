"""Who may open the app and what they may change.

Sign-in is optional and uses Streamlit's own (`st.login`, OpenID Connect): it is on when
`.streamlit/secrets.toml` has an `[auth]` section. Then only the addresses on the allow-list
(`[access]`: `viewers` and `editors`, each an address or `@domain` for everyone at a domain)
get in: viewers see everything and move every control; editors may also load data, restore a
load and manage scenarios. Without sign-in, the app serving this machine only (the shipped
`server.address`) lets whoever sits at it edit; served to other machines without sign-in,
everyone is a viewer unless KPI_LOADING_WITHOUT_SIGN_IN says otherwise. A setting this code
does not understand always means the safer choice.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import streamlit as st

from ui import format as fmt
from ui.upload import read_only

VIEWER, EDITOR = "viewer", "editor"
ACCESS_KEY = "access"  # this run's Access, read by the pages
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
YES_WORDS = ("1", "true", "yes", "on")  # the only values that switch a risky setting on


@dataclass(frozen=True)
class Rules:
    """The allow-list: addresses (lower case) and domains (`@example.com`)."""

    viewers: tuple[str, ...] = ()
    editors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Access:
    """What this session may do, and who it is (None: no sign-in)."""

    role: str
    email: str | None = None
    local: bool = False  # no sign-in, and the app serves this machine only

    @property
    def can_edit(self) -> bool:
        return self.role == EDITOR and not read_only()

    def why_not_edit(self) -> str:
        """Why this session cannot load data or change scenarios, in words."""
        if read_only():
            return "This app is read-only (KPI_READ_ONLY is set)"
        if self.email is not None:
            return (
                f"You are signed in as {fmt.plain(self.email)}, a viewer: loading data and changing "
                "scenarios is for editors"
            )
        return (
            "This app is served to other machines without sign-in, so nobody can load data or change scenarios "
            "here (set up sign-in, or KPI_LOADING_WITHOUT_SIGN_IN=1)"
        )


def _entries(values: object) -> tuple[str, ...]:
    """The usable entries of a list: an address with one @ and a dot after it, or `@domain`;
    anything else (a typo, a bare name, a wildcard) matches nobody."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        return ()
    kept = []
    for value in values:
        entry = str(value).strip().lower()
        local, at, domain = entry.rpartition("@")
        if at and "@" not in local and "." in domain.strip(".") and " " not in entry and "*" not in entry:
            kept.append(entry)
    return tuple(kept)


def rules_from(section: Mapping[str, Any] | None) -> Rules:
    """The allow-list of the `[access]` section (none: nobody is on it)."""
    section = section or {}
    return Rules(viewers=_entries(section.get("viewers")), editors=_entries(section.get("editors")))


def _matches(email: str, entry: str) -> bool:
    return email.endswith(entry) if entry.startswith("@") else email == entry


def role_of(email: str | None, rules: Rules) -> str | None:
    """EDITOR, VIEWER or None (not on the list) for a signed-in address; an editor need not
    be listed as a viewer too."""
    email = (email or "").strip().lower()
    if email.count("@") != 1:
        return None
    if any(_matches(email, entry) for entry in rules.editors):
        return EDITOR
    if any(_matches(email, entry) for entry in rules.viewers):
        return VIEWER
    return None


def sign_in_configured() -> bool:
    """Whether `.streamlit/secrets.toml` has an `[auth]` section (no secrets file: no)."""
    try:
        return "auth" in st.secrets
    except Exception:  # Streamlit raises its own error when there is no secrets file at all
        return False


AUTH_SETTINGS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")


def missing_auth_settings() -> list[str]:
    """The settings sign-in needs that the `[auth]` section lacks (one provider, unnamed)."""
    try:
        section = st.secrets.get("auth")
    except Exception:
        return list(AUTH_SETTINGS)
    section = section if isinstance(section, Mapping) else {}
    return [name for name in AUTH_SETTINGS if not str(section.get(name) or "").strip()]


def _access_section() -> Mapping[str, Any] | None:
    try:
        section = st.secrets.get("access")
    except Exception:
        return None
    return section if isinstance(section, Mapping) else None


def serves_this_machine_only() -> bool:
    return str(st.get_option("server.address") or "").strip().lower() in LOOPBACK


def _switched_on(variable: str) -> bool:
    return os.environ.get(variable, "").strip().lower() in YES_WORDS


def admitted() -> Access | None:
    """This session's access, or None when the visitor may not see the app (signed out, or
    not on the allow-list: `turn_away` says which). Draws nothing."""
    if sign_in_configured():
        if missing_auth_settings() or not st.user.is_logged_in:
            return None
        email = st.user.get("email")
        email = email if isinstance(email, str) else None
        role = role_of(email, rules_from(_access_section()))
        access = None if role is None else Access(role, email)
    elif serves_this_machine_only():
        access = Access(EDITOR, local=True)
    else:
        access = Access(EDITOR if _switched_on("KPI_LOADING_WITHOUT_SIGN_IN") else VIEWER)
    st.session_state[ACCESS_KEY] = access
    return access


def turn_away() -> None:
    """The page a visitor sees instead of the app: sign in, or not on the list. Stops the run."""
    st.title("Channel KPI Explorer")
    if missing := missing_auth_settings():
        # Half set up: nobody gets in (the safe reading), and the owner reads what to add.
        st.error(
            "Sign-in is switched on but not fully set up: the `[auth]` section of `.streamlit/secrets.toml` "
            f"lacks {', '.join(f'`{name}`' for name in missing)} (README, Hosting).",
            icon=":material/error:",
        )
    elif not st.user.is_logged_in:
        st.write("This app holds your partner program's data. Sign in to open it.")
        st.button("Sign in", on_click=st.login, type="primary", icon=":material/login:")
    else:
        email = st.user.get("email")
        who = fmt.plain(email) if isinstance(email, str) and email else "This account"
        st.error(
            f"{who} is not on this app's list of people who may open it. Ask the app's owner to add you, "
            "or sign in with another account.",
            icon=":material/block:",
        )
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
    st.stop()


def current() -> Access:
    """The access app.py found for this run (a page run alone: viewer, the safe reading)."""
    access = st.session_state.get(ACCESS_KEY)
    return access if isinstance(access, Access) else Access(VIEWER)


def sidebar_signed_in(access: Access) -> None:
    """Who is signed in, and a way out, at the foot of the sidebar."""
    if access.email is None:
        return
    st.caption(f"Signed in as {fmt.plain(access.email)} ({access.role})")
    st.button("Sign out", on_click=st.logout, key="access_sign_out", icon=":material/logout:", type="tertiary")
