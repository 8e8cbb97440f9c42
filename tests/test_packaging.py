"""The top-level templates/ ships inside the wheel (as lipgen.templates) and the editable install finds it too."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from lipgen.templating import template_dir

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*.j2"))


def test_editable_install_uses_the_checkout_templates():
    assert template_dir().resolve() == (ROOT / "templates").resolve()
    assert {"jobs/slurm.sh.j2", "jobs/pbs.sh.j2", "jobs/lsf.sh.j2", "settings/scip.set.j2", "settings/gurobi.prm.j2",
            "settings/cplex.cmd.j2"} <= set(SHIPPED)


def test_pyproject_lists_every_package():
    """pyproject.toml names the packages one by one (find cannot add lipgen.templates): none may be missing."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "lipgen").rglob("__init__.py")}
    assert listed == found | {"lipgen.templates"}
    assert not (ROOT / "setup.py").exists()


def test_wheel_ships_the_templates(tmp_path):
    src = tmp_path / "src"  # a copy: building writes build/ and *.egg-info next to the sources
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for folder in ("lipgen", "templates"):
        shutil.copytree(ROOT / folder, src / folder, ignore=shutil.ignore_patterns("__pycache__"))
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                        str(src)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    wheel = next((tmp_path / "dist").glob("lipgen-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for t in SHIPPED:
        assert f"lipgen/templates/{t}" in names, t
    assert "lipgen/cluster/jobs.py" in names and "lipgen/report/plots.py" in names
    assert not any(n.startswith(("templates/", "tests/")) for n in names)
    # installed from the wheel alone, lipgen finds its templates
    target = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(target)
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from lipgen.templating import template_dir; "
             "print(template_dir())")
    out = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()) == target / "lipgen" / "templates"
