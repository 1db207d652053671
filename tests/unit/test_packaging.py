"""What the product declares: every library its own code imports (not left to arrive with another package),
and nothing that only `rag eval` or the tests need."""

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement

from tests.conftest import ROOT

PRODUCT = ["rag", "ingest", "service"]
INSTALLED_APART = {"torch", "llama_cpp"}  # scripts/setup.sh: torch's CPU wheel first; llama-cpp-python is declared
OPTIONAL = {"boto3": "s3", "botocore": "s3"}  # imported only by a backend that says which extra it needs


def declared(extra: str | None = None) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return {Requirement(r).name.lower().replace("_", "-") for r in requirements}


def imported() -> set[str]:
    """Top-level modules of other projects that the product's code imports."""
    found = set()
    for package in PRODUCT:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                    found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - set(PRODUCT) - {"evals", "__future__"}


def test_every_library_the_product_imports_is_declared():
    distributions = packages_distributions()
    missing = {}
    for module in imported() - INSTALLED_APART:
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & (declared() | (declared(OPTIONAL[module]) if module in OPTIONAL else set())):
            missing[module] = sorted(names)
    assert missing == {}


def test_the_product_installs_without_what_only_eval_needs():
    assert "matplotlib" not in declared() and "matplotlib" in declared("eval")
