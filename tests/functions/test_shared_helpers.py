"""One definition each for what the function modules share with the rest: number formatting and how error
messages show a value."""

from __future__ import annotations

from pathlib import Path

import pytest

from faasplane.components import formatting
from faasplane.components.config import AlertRule
from faasplane.components.function import args as function_args
from faasplane.components.function import errors as function_errors
from faasplane.components.function import stackyml
from faasplane.components.platform import monitoring_config


@pytest.mark.parametrize(("value", "text"), [(2, "2"), (2.0, "2"), (0.5, "0.5"), (1e-07, "1e-07"), (1e9, "1000000000")])
def test_format_number(value, text):
    assert formatting.format_number(value) == text


def test_labels_and_rules_format_numbers_with_the_same_function():
    assert function_args.format_number is formatting.format_number
    assert monitoring_config.format_number is formatting.format_number
    assert not hasattr(function_args, "_format_number")
    assert not hasattr(monitoring_config, "_number")
    assert function_args.as_text(2.0) == "2"
    assert monitoring_config.scaling_expr(AlertRule(threshold_rps=2.0)).endswith("> 2")


@pytest.mark.parametrize(("value", "text", "yaml_text"), [
    ("a", "'a'", "'a'"), (Path("/x"), "'/x'", "'/x'"), (None, "None", "null"), (3, "3", "3"), (True, "True", "True"),
    ([1, 2], "[1, 2]", "[1, 2]"),
])
def test_one_show_for_function_and_stack_yml_messages(value, text, yaml_text):
    assert function_errors.show(value) == text
    assert stackyml._show(value) == yaml_text
    assert stackyml._show.func is function_errors.show
    assert not hasattr(function_errors, "_show")
