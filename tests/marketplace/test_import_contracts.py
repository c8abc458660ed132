"""The import contracts of pyproject.toml catch the imports they exist to forbid.

`lint-imports` proves the tree keeps them; these tests prove each contract would break on
the import it is about (added to the real graph), so a loosened pattern cannot pass silently.
"""

import tomllib
from copy import deepcopy
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parents[2]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
TYPES = {"forbidden": ForbiddenContract, "layers": LayersContract}


@pytest.fixture(scope="module")
def graph():
    configuration.configure()  # what the lint-imports command does first (timers, readers)
    return grimp.build_graph(
        *CONFIG["root_packages"], include_external_packages=CONFIG.get("include_external_packages"), cache_dir=None
    )


def _check(graph, name: str, *extra_imports: tuple[str, str]) -> bool:
    """Whether the contract called `name` is kept on the tree plus `extra_imports`."""
    (options,) = [c for c in CONFIG["contracts"] if c["name"] == name]
    # import-linter reads TOML values as strings (as from an INI file), lists aside.
    options = {key: str(value) if isinstance(value, bool) else value for key, value in options.items()}
    contract = TYPES[options["type"]](name=name, session_options=CONFIG, contract_options=options)
    copy = deepcopy(graph)  # checking removes the ignored imports from the graph it is given
    for importer, imported in extra_imports:
        copy.add_import(importer=importer, imported=imported, line_number=1, line_contents=f"import {imported}")
    return contract.check(copy, verbose=False).kept


UPPER = "Upper apps read lower apps through selectors"
LAYERS = "Domain layers depend downward only"


def test_the_tree_keeps_both_contracts(graph):
    assert _check(graph, UPPER) is True
    assert _check(graph, LAYERS) is True


@pytest.mark.parametrize(
    "importer",
    ["orders.services.cart", "orders.selectors", "catalog.services.products", "settlements.services.ledger"],
)
def test_an_upper_app_service_or_selector_may_not_import_a_lower_app_model(graph, importer):
    lower = "catalog.models" if importer.startswith(("orders", "settlements")) else "merchants.models"
    assert _check(graph, UPPER, (importer, lower)) is False


@pytest.mark.parametrize(
    "imported", ["catalog.selectors", "catalog.services.stock", "catalog.choices", "orders.models"]
)
def test_an_upper_app_service_may_use_lower_selectors_services_choices_and_its_own_models(graph, imported):
    assert _check(graph, UPPER, ("orders.services.checkout", imported)) is True


@pytest.mark.parametrize(
    "importer",
    [
        "merchants.views",
        "catalog.portal_views",
        "orders.portal_forms",
        "merchants.shop_urls",
        "catalog.portal_urls",
        "merchants.admin.actions",
        "merchants.api.views",
        "catalog.tasks",
    ],
)
def test_a_lower_interface_module_may_call_higher_selectors_services_and_choices(graph, importer):
    assert _check(graph, LAYERS, (importer, "settlements.selectors")) is True
    assert _check(graph, LAYERS, (importer, "settlements.services.runs")) is True
    assert _check(graph, LAYERS, (importer, "settlements.choices")) is True


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("merchants.views", "catalog.models"),
        ("catalog.portal_views", "orders.models"),
        ("merchants.shop_urls", "catalog.models"),
        ("merchants.admin.actions", "catalog.models"),
        ("merchants.api.views", "orders.errors"),
        ("catalog.tasks", "orders.gateways.sandbox"),
        # A domain module of a lower app reaches no higher app at all, not even its selectors.
        ("merchants.services.applications", "catalog.selectors"),
        ("catalog.selectors", "orders.choices"),
    ],
)
def test_a_lower_app_may_not_reach_higher_internals(graph, importer, imported):
    assert _check(graph, LAYERS, (importer, imported)) is False
