"""The import budget of every function's entry point (``functions/import_budget.toml``), measured.

Each entry module (``functions/<name>/main.py`` or ``handler.py``) is imported in a fresh
interpreter, from its own folder as Lambda does: the modules it loaded, and the import's wall
time. ``tests/infra/test_import_budget.py`` checks the counts and the forbidden packages (never
the time); ``make bench`` (scenario 6) reports both.

    .venv/bin/python bench/import_budget.py            # a table, exit 1 when over budget
    .venv/bin/python bench/import_budget.py --json --reps 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
BUDGET = FUNCTIONS / "import_budget.toml"
PROBE = ("import json, sys, time; sys.path.insert(0, '.'); before = set(sys.modules); t = time.perf_counter(); "
         "import {module}; dt = time.perf_counter() - t; "
         "print(json.dumps({{'import_s': dt, 'modules': sorted(set(sys.modules) - before)}}))")


def entry_points() -> dict[str, str]:
    """function name -> entry module name, for every folder under functions/."""
    return {d.name: "main" if (d / "main.py").exists() else "handler"
            for d in sorted(FUNCTIONS.iterdir()) if (d / "main.py").exists() or (d / "handler.py").exists()}


def budget() -> dict[str, dict[str, Any]]:
    """function -> {"max_modules": int, "forbidden": [...]} with the defaults merged in."""
    data = tomllib.loads(BUDGET.read_text())
    default = data.get("defaults", {}).get("forbidden", [])
    return {name: {"max_modules": int(spec["max_modules"]), "forbidden": sorted({*default, *spec.get("forbidden", [])})}
            for name, spec in data["functions"].items()}


def measure(function: str, python: str = sys.executable, env: dict[str, str] | None = None) -> dict[str, Any]:
    """One fresh import of the function's entry module: ``{"import_s", "modules"}``."""
    module = entry_points()[function]
    clean = {k: v for k, v in (env if env is not None else os.environ).items() if k not in ("PYTHONPATH",)}
    out = subprocess.run([python, "-c", PROBE.format(module=module)], cwd=FUNCTIONS / function, env=clean,
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"import {function}/{module}: {out.stderr[-800:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def loaded(modules: list[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


def check(function: str, modules: list[str]) -> list[str]:
    """What is over budget (empty: within it)."""
    spec = budget()[function]
    problems = [f"{function}: imports {p}" for p in spec["forbidden"] if loaded(modules, p)]
    if len(modules) > spec["max_modules"]:
        problems.append(f"{function}: {len(modules)} modules > budget {spec['max_modules']}")
    return problems


def measure_all(python: str = sys.executable, reps: int = 1, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Every entry point: module count, budget, problems, median import time over ``reps`` runs."""
    out: dict[str, Any] = {}
    specs = budget()
    for function in entry_points():
        measure(function, python, env)  # untimed: bytecode compiled, page cache warm
        runs = [measure(function, python, env) for _ in range(reps)]
        modules = runs[-1]["modules"]
        out[function] = {"modules": len(modules), "max_modules": specs.get(function, {}).get("max_modules"),
                         "import_s": statistics.median(r["import_s"] for r in runs),
                         "problems": check(function, modules) if function in specs else [f"{function}: no budget"]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--json", action="store_true")
    p.add_argument("--reps", type=int, default=1)
    args = p.parse_args(argv)
    results = measure_all(reps=args.reps)
    if args.json:
        print(json.dumps(results))
    else:
        for name, r in results.items():
            print(f"{name:<11} {r['modules']:>4} / {r['max_modules']} modules  {r['import_s'] * 1000:6.0f} ms  "
                  f"{'; '.join(r['problems']) or 'ok'}")
    return 1 if any(r["problems"] for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
