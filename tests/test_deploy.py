"""The container recipe ships everything the app runs on and checks the app's own health URL."""

from __future__ import annotations

import re

from tests.conftest import ROOT

DOCKERFILE = (ROOT / "deploy" / "Dockerfile").read_text()


def test_the_image_holds_every_part_of_the_app_and_its_settings():
    copied = {m.group(1) for m in re.finditer(r"^COPY (\S+) ", DOCKERFILE, re.MULTILINE)}
    # Every top-level folder of Python code the app imports, and the app's own settings.
    needed = {"app.py", "requirements.txt", ".streamlit/config.toml"}
    needed |= {p.parent.name for p in ROOT.glob("*/__init__.py") if p.parent.name not in ("tests", "benchmarks")}
    needed |= {"pages"}
    assert needed <= copied, f"not in the image: {needed - copied}"
    assert not (copied & {".streamlit/secrets.toml", "data", "tests"})  # no secrets or data baked in


def test_the_container_runs_as_a_user_keeps_data_on_a_volume_and_checks_health():
    assert re.search(r"^USER kpi$", DOCKERFILE, re.MULTILINE)
    assert "KPI_DB=/data/kpi.duckdb" in DOCKERFILE and 'VOLUME ["/data"]' in DOCKERFILE
    assert "/_stcore/health" in DOCKERFILE.split("HEALTHCHECK", 1)[1]
    assert "--server.allowedHosts" in DOCKERFILE  # served to others, the websocket still checks the host
