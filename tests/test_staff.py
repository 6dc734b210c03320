"""kpi.staff.staff_activity: what each staff member did in the window, hand-computed.

As-of A = 2026-03-31 and W = 30 days: the window is 2026-03-02 .. 2026-03-31.
"""

from __future__ import annotations

from datetime import date

import pytest

from kpi.staff import staff_activity
from tests.conftest import d, partner

A = d("2026-03-31")
W = 30
COUNTS = ("trainings", "content_shares", "content_views", "logins")


def act(pid: str, user: str | None, on: str, kind: str) -> dict[str, object]:
    return {"partner_id": pid, "user_id": user, "occurred_at": on, "activity": kind}


def person(uid: str, pid: str, name: str, role: str | None = None) -> dict[str, object]:
    return {"user_id": uid, "partner_id": pid, "user_name": name, "role": role}


@pytest.fixture
def con(make_db):
    return make_db(
        {
            "partners": [
                partner("P1", partner_name="Acme"),
                partner("P2", partner_name="Bolt"),
                partner("GONE", partner_name="Gone Ltd", left="2026-03-31"),  # left on A: out
                partner("NEW", partner_name="Newco", joined="2026-04-01"),  # joins after A
            ],
            "partner_users": [
                person("U2", "P1", "Zoe", "sales"),
                person("U1", "P1", "Ann", "presales"),
                person("U3", "P1", "Ann", "sales"),  # same name as U1: ordered by id
                person("UB", "P2", "Bea"),
                person("UG", "GONE", "Gil"),
                person("UN", "NEW", "Nia"),
            ],
            "activities": [
                act("P1", "U1", "2026-03-01", "training_completed"),  # A - W: before the window
                act("P1", "U1", "2026-03-02", "training_completed"),  # the window's first day
                act("P1", "U1", "2026-03-31T23:30:00-05:00", "training_completed"),  # on A (its date)
                act("P1", "U1", "2026-03-15", "content_shared"),
                act("P1", "U1", "2026-03-16", "content_viewed"),
                act("P1", "U1", "2026-03-16", "content_viewed"),
                act("P1", "U1", "2026-04-01", "login"),  # after A: nowhere, not even last_active_on
                act("P1", "U2", "2026-01-20", "login"),  # only before the window
                act("P1", None, "2026-03-10", "login"),  # no person: the partner's own row
                act("P1", None, "2026-03-11", "content_shared"),
                act("P2", None, "2026-02-01", "login"),  # no person, before the window: no row
                act("GONE", "UG", "2026-03-20", "login"),
            ],
        }
    )


def rows(frame) -> list[tuple[object, ...]]:
    return [
        (r["partner_id"], r["user_id"], r["no_user"], *(r[c] for c in COUNTS), r["last_active_on"])
        for r in frame.iter_rows(named=True)
    ]


def test_the_population_staff_with_their_window_counts_and_last_activity(con) -> None:
    assert rows(staff_activity(con, A, W)) == [
        # Acme: Ann (U1), Ann (U3), Zoe, then the activities without a person
        ("P1", "U1", False, 2, 1, 2, 0, date(2026, 3, 31)),
        ("P1", "U3", False, 0, 0, 0, 0, None),
        ("P1", "U2", False, 0, 0, 0, 0, date(2026, 1, 20)),
        ("P1", None, True, 0, 1, 0, 1, date(2026, 3, 11)),
        # Bolt: Bea did nothing; its person-less login was before the window, so no extra row
        ("P2", "UB", False, 0, 0, 0, 0, None),
    ]


def test_one_partner_is_listed_also_when_it_is_not_in_the_program(con) -> None:
    gone = staff_activity(con, A, W, partner_id="GONE")
    assert rows(gone) == [("GONE", "UG", False, 0, 0, 0, 1, date(2026, 3, 20))]
    assert gone.row(0, named=True)["partner_name"] == "Gone Ltd"
    assert rows(staff_activity(con, A, W, partner_id="NEW")) == [("NEW", "UN", False, 0, 0, 0, 0, None)]


def test_a_person_carries_their_name_and_role(con) -> None:
    zoe = staff_activity(con, A, W, partner_id="P1").filter(user_id="U2").row(0, named=True)
    assert (zoe["partner_name"], zoe["user_name"], zoe["role"]) == ("Acme", "Zoe", "sales")


def test_a_shorter_window_counts_fewer_days(con) -> None:
    # W = 15: 2026-03-17 .. 2026-03-31, so Ann keeps only the training on A.
    ann = staff_activity(con, A, 15, partner_id="P1").filter(user_id="U1").row(0, named=True)
    assert tuple(ann[c] for c in COUNTS) == (1, 0, 0, 0)
    assert ann["last_active_on"] == date(2026, 3, 31)
