"""The README's commands and configuration tables agree with the code: every variable the
settings read is in the tables and in .env.example, every `make` target it names exists,
and no command needs an activated virtualenv without saying so."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
README = (ROOT / "README.md").read_text()
# Read by the test settings only (pytest-xdist), not a setting of Brisk.
NOT_SETTINGS = {"PYTEST_XDIST_WORKER"}


def readme_variables() -> set[str]:
    section = README.split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", first_cell))
    return names


def variables_read_by_the_code() -> set[str]:
    sources = [*sorted((ROOT / "config" / "settings").glob("*.py")), ROOT / "gunicorn_config.py"]
    pattern = re.compile(
        r"""(?:env(?:\.\w+)?|_int|_bool|os\.environ\.get|os\.environ)\(?\[?\s*["']([A-Z][A-Z0-9_]+)["']"""
    )
    return {name for path in sources for name in pattern.findall(path.read_text())} - NOT_SETTINGS


def test_every_variable_the_settings_read_is_documented() -> None:
    read = variables_read_by_the_code()
    assert "GUNICORN_ACCESS_LOG_FORMAT" in read and "SECRET_KEY" in read  # the scan works
    assert read - readme_variables() == set()


def test_env_example_lists_the_readme_variables() -> None:
    example = (ROOT / ".env.example").read_text()
    assert all(line.startswith("#") or not line.strip() for line in example.splitlines()), "all commented out"
    listed = set(re.findall(r"^# ([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert listed == readme_variables()


def test_make_targets_named_in_the_readme_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, flags=re.MULTILINE))
    named = set(re.findall(r"`make ([a-z][a-z-]*)", README)) | set(re.findall(r"^make ([a-z][a-z-]*)", README, re.M))
    assert named, "the scan works"
    assert named - targets == set()


def test_commands_use_the_projects_virtualenv() -> None:
    """`python manage.py` fails in a fresh clone (no Django outside .venv): commands say
    `.venv/bin/python`, except inside the image and after `source .venv/bin/activate`."""
    bare = re.compile(r"(?<![\w/.])python3? (?:manage\.py|-m (?!venv))")
    pages = [README, *(path.read_text() for path in sorted((ROOT / "docs").glob("*.md")))]
    offending = [
        line
        for page in pages
        for line in page.splitlines()
        if bare.search(line) and "activate" not in line and "docker" not in line
    ]
    assert offending == []


def test_links_stay_inside_the_repository() -> None:
    """The README and docs/ send readers to files of this repository only."""
    pages = {"README.md": README, **{f"docs/{p.name}": p.read_text() for p in (ROOT / "docs").glob("*.md")}}
    for name, text in pages.items():
        assert "../" not in text, name
        for target in re.findall(r"\]\(([^)#]+)", text):
            if target.startswith(("http://", "https://")):
                continue
            assert (ROOT / Path(name).parent / target).exists(), (name, target)
