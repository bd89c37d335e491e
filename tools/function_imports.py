"""Lists imports of another app made inside a function body (outside tests).

An import hidden in a function escapes import-linter's graph only in spirit: it still couples
the apps, and a cycle then fails at run time instead of in CI. `python -m tools.function_imports`
prints each one and exits 1 when there is any; tests/test_architecture.py runs it."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("core", "cis", "mdm", "billing", "inventory", "service_orders", "integrations", "portal", "demo")


def violations() -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "tests" in rel.parts or "migrations" in rel.parts:
                continue
            tree = ast.parse(path.read_text(), str(rel))
            for func in ast.walk(tree):
                if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                for node in ast.walk(func):
                    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                        names = [node.module]
                    elif isinstance(node, ast.Import):
                        names = [a.name for a in node.names]
                    else:
                        continue
                    for name in names:
                        top = name.split(".")[0]
                        if top in APPS and top != app:
                            found.append(f"{rel}:{node.lineno} in {func.name}(): imports {name}")
    return sorted(set(found))


if __name__ == "__main__":
    problems = violations()
    print("\n".join(problems))
    sys.exit(1 if problems else 0)
