"""The catalogue of problems (core.problems) is the one list of error codes: every
code the code raises is in it, once, with the status its raise site answers with."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core import errors
from core.problems import CATALOGUE

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("api", "sync", "core", "cli", "models", "indicators")
_CLASSES = {name: cls for name, cls in vars(errors).items()
            if isinstance(cls, type) and issubclass(cls, errors.AppError)}


def _error_classes() -> dict[str, int]:
    """AppError subclasses anywhere in the code, by name -> status."""
    from sync.fields import ProcessingError

    return {**{name: cls.status_code for name, cls in _CLASSES.items()},
            "ProcessingError": ProcessingError.status_code}


def _raise_sites():
    """(file:line, class name or None, code) for every `code="..."` keyword given to a
    call in the service's packages."""
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                if not isinstance(node, ast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "code" and isinstance(keyword.value, ast.Constant) \
                            and isinstance(keyword.value.value, str) and "." in keyword.value.value:
                        name = node.func.id if isinstance(node.func, ast.Name) else getattr(
                            node.func, "attr", None)
                        yield (f"{path.relative_to(ROOT)}:{node.lineno}", name,
                               keyword.value.value)


def test_every_code_raised_is_in_the_catalogue_with_the_status_it_is_raised_with():
    classes = _error_classes()
    sites = list(_raise_sites())
    assert len(sites) > 80  # the scan sees the raise sites
    missing = [f"{where}: {code}" for where, _, code in sites if code not in CATALOGUE]
    assert missing == []
    wrong = [f"{where}: {code} raised as {name} ({classes[name]}), catalogued "
             f"{CATALOGUE[code].status}" for where, name, code in sites
             if name in classes and classes[name] != CATALOGUE[code].status]
    assert wrong == []


def test_every_class_default_code_is_catalogued():
    from sync.fields import ProcessingError

    for cls in [*_CLASSES.values(), ProcessingError]:
        assert CATALOGUE[cls.code].status == cls.status_code, cls


def test_the_catalogue_is_complete_for_each_entry():
    for code, problem in CATALOGUE.items():
        assert code.count(".") == 1 and code == code.lower(), code
        assert 400 <= problem.status < 600 and problem.meaning and problem.pesan, code


@pytest.mark.parametrize("code", ["form.closed", "submission.scope", "auth.revoked_app_token"])
def test_an_error_carries_its_catalogued_status_and_bahasa_message(code):
    error = errors.AppError("particulars", code=code)
    assert error.status_code == CATALOGUE[code].status
    assert error.message == "particulars" and error.pesan == CATALOGUE[code].pesan


def test_an_uncatalogued_code_is_refused():
    with pytest.raises(ValueError):
        errors.AppError("x", code="nothing.like_this")


def test_nothing_in_the_domain_but_the_unit_of_work_commits_or_rolls_back():
    offenders = []
    for path in sorted((ROOT / "sync").rglob("*.py")):
        if path.name == "unit_of_work.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if ".commit()" in line or ".rollback()" in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
