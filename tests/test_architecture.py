"""The layers docs/architecture.md draws, held by the import graph (issue 15).

* the import-linter contracts in ``pyproject.toml`` (``[tool.importlinter]``) are kept: a lower
  layer never imports a higher one (``cli`` > ``web`` > ``demo`` > ``engine``/``sources``/
  ``calendars`` > ``directory``/``net``/``emulators`` > ``core``/``config``), and the connectors
  do not import each other;
* no two modules import each other, directly or through others (no cycle of any length, function-
  level imports included: grimp reads every import statement);
* both checks bite: the same contracts on the real graph with one illegal import added are broken,
  and a cycle added to the graph is found.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.application import use_cases
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

configuration.configure()  # import-linter's adapters (file reading), as its command line sets them up
CONTRACT_TYPES = {"layers": LayersContract, "forbidden": ForbiddenContract}

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("sfacal", cache_dir=None)


def broken_contracts(graph: grimp.ImportGraph) -> list[str]:
    """The names of the project's import-linter contracts (``pyproject.toml``) broken by ``graph``."""
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        options = use_cases.read_user_options()
    finally:
        os.chdir(cwd)
    assert options.contracts_options, "no contracts found in pyproject.toml"
    broken = []
    for found in options.contracts_options:
        contract = CONTRACT_TYPES[found["type"]](
            name=found["name"], session_options=options.session_options, contract_options=found
        )
        if not contract.check(copy.deepcopy(graph), verbose=False).kept:
            broken.append(contract.name)
    return broken


def cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work: list[tuple[str, Iterable[str]]] = [
            (root, iter(sorted(graph.find_modules_directly_imported_by(root))))
        ]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_layers_and_connectors_contracts_are_kept(graph: grimp.ImportGraph) -> None:
    assert broken_contracts(graph) == []


def test_no_module_imports_itself_through_others(graph: grimp.ImportGraph) -> None:
    assert cycles(graph) == []


def test_the_contracts_break_when_a_lower_layer_imports_a_higher_one(graph: grimp.ImportGraph) -> None:
    for importer, imported in (
        ("sfacal.directory.employees.models", "sfacal.engine.sync"),
        ("sfacal.engine.processor", "sfacal.web.checks"),
        ("sfacal.core.planner", "sfacal.directory.companies.models"),
        ("sfacal.calendars.msgraph.client", "sfacal.sources.push.api"),
    ):
        bad = copy.deepcopy(graph)
        bad.add_import(importer=importer, imported=imported)
        assert broken_contracts(bad), (importer, imported)


def test_a_cycle_is_found(graph: grimp.ImportGraph) -> None:
    bad = copy.deepcopy(graph)
    bad.add_import(importer="sfacal.engine.sync", imported="sfacal.engine.backfill")
    bad.add_import(importer="sfacal.engine.backfill", imported="sfacal.engine.sync")
    assert ["sfacal.engine.backfill", "sfacal.engine.sync"] in cycles(bad)
