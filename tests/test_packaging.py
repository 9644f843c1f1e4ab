"""The install files agree with each other, so the pip route and the conda route give the same book."""

import pathlib
import re
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        specs += extra
    pins = {}
    for spec in specs:
        name, sep, version = spec.partition("==")
        assert sep, f"pyproject.toml: dependency {spec!r} is not pinned with =="
        pins[name.lower()] = version
    return pins


def _environment_pins() -> dict[str, str]:
    text = (ROOT / "environment.yml").read_text()
    pip_block = text.split("  - pip:\n", 1)[1]
    pins = {}
    for line in pip_block.splitlines():
        m = re.fullmatch(r"\s+- (\S+)", line)
        if not m or m.group(1) in {"-e", "."} or m.group(1).startswith("-e"):
            continue
        name, sep, version = m.group(1).partition("==")
        assert sep, f"environment.yml: pip dependency {m.group(1)!r} is not pinned with =="
        pins[name.lower()] = version
    return pins


def test_environment_yml_matches_pyproject():
    assert _environment_pins() == _pyproject_pins()


def test_environment_yml_installs_the_package_and_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert "  - python=3.11\n" in text
    assert "      - -e .\n" in text


def test_constraints_agree_with_pins():
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    locked = {}
    for line in lines:
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            locked[name.lower().replace("_", "-")] = version
    for name, version in _pyproject_pins().items():
        if name == "jupyterlab":  # installed only by `make lab`, not in the test venv's lock
            continue
        assert locked.get(name) == version, f"constraints.txt pins {name}=={locked.get(name)}, pyproject says {version}"
