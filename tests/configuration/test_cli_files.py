"""`manage.py config` with files it cannot read or write: a usage error (exit 2) in words."""

import pytest

from tests.configuration.test_cli import config

pytestmark = pytest.mark.django_db(transaction=True)

TRACEBACK = "Traceback"


def _usage_error(result, *words):
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert TRACEBACK not in result.stderr + result.stdout
    for word in words:
        assert word in result.stderr, result.stderr


def test_export_to_a_place_that_cannot_be_written(tmp_path):
    _usage_error(
        config("export", "-o", "/proc/nope/x.yaml"),
        "Cannot write /proc/nope/x.yaml: No such file or directory.",
        "Choose a file in a folder that exists",
    )
    _usage_error(config("export", "-o", str(tmp_path)), f"Cannot write {tmp_path}: Is a directory.")
    # A path that can be written still works.
    good = tmp_path / "portal.yaml"
    assert config("export", "-o", str(good)).returncode == 0
    assert "\nversion: 1\n" in good.read_text()


def test_apply_of_a_missing_unreadable_or_directory_path(tmp_path):
    missing = tmp_path / "missing.yaml"
    _usage_error(
        config("apply", str(missing)),
        f"Cannot read {missing}: No such file or directory.",
        "Give the path of a readable YAML file, or - for standard input.",
    )
    directory = config("apply", str(tmp_path), "--check")
    _usage_error(directory, f"Cannot read {tmp_path}: Is a directory.")
    # A file that exists but whose reading fails (here for any user, root included).
    _usage_error(config("apply", "/proc/self/mem", "--json"), "Cannot read /proc/self/mem:")
