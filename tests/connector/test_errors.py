"""Every exception TaskBridge defines sits in its error tree (`connector/errors.py`)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import click
import pytest

from connector.errors import TaskBridgeError
from mappers.errors import ValidationError

PACKAGES = ("connector", "webhooks", "mappers")
SKIPPED = ("connector.migrations",)  # Alembic's env.py runs a migration when imported


def _modules() -> list[str]:
    names = []
    for package in PACKAGES:
        root = importlib.import_module(package)
        names.append(package)
        names.extend(info.name for info in pkgutil.walk_packages(root.__path__, f"{package}.")
                     if not info.name.startswith(SKIPPED))
    return names


def _defined_errors() -> list[tuple[str, type[BaseException]]]:
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        found.extend((name, value) for value in vars(module).values()
                     if inspect.isclass(value) and issubclass(value, BaseException)
                     and value.__module__ == name)
    return found


ERRORS = _defined_errors()


def test_the_walk_finds_the_errors_of_every_package() -> None:
    modules = {name.partition(".")[0] for name, _ in ERRORS}
    assert modules == set(PACKAGES)


@pytest.mark.parametrize(("module", "error"), ERRORS,
                         ids=[f"{module}.{error.__name__}" for module, error in ERRORS])
def test_each_error_is_in_the_tree(module: str, error: type[BaseException]) -> None:
    roots: tuple[type[BaseException], ...] = (TaskBridgeError, ValidationError)
    if module.startswith("connector.cli"):
        roots += (click.ClickException,)  # a CLI user error prints one line
    assert issubclass(error, roots), (
        f"{module}.{error.__name__} derives from {error.__mro__[1].__name__}: put it under "
        "its package's root (connector/errors.py draws the tree)")
