"""Cold start: every function's entry import stays within its budget (functions/import_budget.toml).

Counts of imported modules and forbidden packages, never wall time: a regression (FastAPI back on
the hot path, httpx next to aiohttp, boto3 on the request path, a heavy new dependency) fails here
whatever the machine's load. Before issue #20 the messages entry imported 594 modules, FastAPI
and httpx among them (~1.0 s on the 2-core box).
"""

from __future__ import annotations

import pytest
from bench.import_budget import budget, check, entry_points, loaded, measure

from bytespike.local.template import resources


def test_every_entry_point_has_a_budget_and_every_budget_an_entry_point() -> None:
    assert set(budget()) == set(entry_points())


def test_every_python_function_in_the_template_is_budgeted() -> None:
    folders = {res["Properties"]["CodeUri"].rstrip("/").rsplit("/", 1)[-1]
               for res in resources("AWS::Serverless::Function").values()}
    assert folders == set(budget())


@pytest.mark.parametrize("function", sorted(entry_points()))
def test_entry_import_is_within_budget(function: str) -> None:
    modules = measure(function)["modules"]
    assert check(function, modules) == []


def test_the_budget_check_catches_a_forbidden_package() -> None:
    assert loaded(["fastapi.routing"], "fastapi") and not loaded(["fastapi_extra"], "fastapi")
    assert check("messages", ["httpx"]) == ["messages: imports httpx"]
    assert check("chat", [f"m{i}" for i in range(budget()["chat"]["max_modules"] + 1)])
