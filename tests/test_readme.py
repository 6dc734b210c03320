"""The README's promises: the two commands a newcomer types, and CI running the same one."""

from __future__ import annotations

import re

from tests.conftest import ROOT


def readme_commands() -> list[str]:
    return re.findall(r"```\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_the_app_command_then_the_test_command():
    app_command, test_command = readme_commands()[:2]
    assert app_command.endswith("pip install -r requirements.txt && streamlit run app.py")
    assert test_command.endswith("pytest")


def test_ci_runs_the_readme_test_command_verbatim():
    test_command = readme_commands()[1]
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert test_command in ci_lines


def test_readme_documents_every_cli_parameter_and_links_the_metrics_docs():
    from kpi.params import PARAMS

    readme = (ROOT / "README.md").read_text()
    for spec in PARAMS:
        assert "--" + spec.name.replace("_", "-") in readme
    assert "docs/metrics.md" in readme and (ROOT / "docs" / "metrics.md").exists()


def test_metrics_docs_state_the_defaults_the_code_uses():
    from kpi.params import PARAMS

    docs = (ROOT / "docs" / "metrics.md").read_text()
    for spec in PARAMS:
        if spec.default is None:
            continue
        default = f"{spec.default:,.0f}" if spec.kind == "money" else str(spec.default)
        # The default follows the parameter's name closely (same table row or sentence).
        assert re.search(rf"`{spec.name}`[^`]{{0,40}}?\b{re.escape(default)}\b", docs, re.S), spec.name
