"""`paper_claim.py setup`: each compared tool's own virtualenv and the fetched repositories, outside the repo.

Kept apart from paper_claim.py so that it runs with any Python 3 (no lipgen import). Idempotent: a venv
whose marker file exists is kept, an extracted repository whose folder exists is kept.

    VENVS   = $PAPER_CLAIM_VENVS   (default /work/bench-venvs)      one venv per tool
    SCRATCH = $PAPER_CLAIM_SCRATCH (default /work/bench-scratch)    extracted repositories (git archive HEAD)
    MIRRORS = $PAPER_CLAIM_MIRRORS (default /work/.mirror)          read-only git dirs of the fetched repos

PyTorch: `torch==2.13.0` (the CPU wheel this machine's pip finds locally); never another spec, which would
pull a CUDA build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

VENVS = Path(os.environ.get("PAPER_CLAIM_VENVS", "/work/bench-venvs"))
SCRATCH = Path(os.environ.get("PAPER_CLAIM_SCRATCH", "/work/bench-scratch"))
MIRRORS = Path(os.environ.get("PAPER_CLAIM_MIRRORS", "/work/.mirror"))

REPOS = {  # tool -> owner+name of the fetched mirror
    "lipmip": "revbucket+lipMIP",
    "lipbab": "pyrobits+LipBaB",
    "autolirpa": "Verified-Intelligence+auto_LiRPA",
    "lipopt": "latorrefabian+lipopt",
}

# tool -> (pip requirements, extra step). auto_LiRPA's setup.py pins torch<2.9 and torchvision: installing
# it with its dependencies would pull another (CUDA) torch, so it goes in with --no-deps on top of the
# local CPU torch and the few runtime imports it needs.
VENV_SPECS = {
    "lipmip": ["torch==2.13.0", "gurobipy==13.0.3", "numpy", "scipy", "h5py", "matplotlib"],
    "lipbab": ["numpy", "cvxopt", "h5py"],
    "lipsdp": ["cvxpy==1.9.3", "clarabel==0.11.1", "scs==3.3.1", "numpy", "h5py"],
    "autolirpa": ["torch==2.13.0", "numpy", "h5py", "packaging", "appdirs", "pyyaml", "tqdm", "ninja", "graphviz"],
    # LiPopt's old_code (the paper's code) imports these; its setup.py names only torch and pytest
    "lipopt": ["torch==2.13.0", "gurobipy==13.0.3", "numpy", "scipy", "sympy", "networkx", "joblib", "tqdm", "h5py"],
}


def python_of(tool: str) -> Path:
    return VENVS / tool / "bin" / "python"


def repo_dir(tool: str) -> Path:
    info = json.loads((SCRATCH / "repos.json").read_text())
    return Path(info[tool]["path"])


def log(msg: str) -> None:
    print(f"setup: {msg}", flush=True)


def extract_repos() -> dict:
    SCRATCH.mkdir(parents=True, exist_ok=True)
    info = {}
    for tool, mirror in REPOS.items():
        gitdir = MIRRORS / mirror / "repo"
        commit = subprocess.run(["git", "--git-dir", str(gitdir), "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dest = SCRATCH / f"{mirror}@{commit[:12]}"
        if not dest.exists():
            tmp = dest.with_name(dest.name + ".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            arch = subprocess.run(["git", "--git-dir", str(gitdir), "archive", "HEAD"], capture_output=True,
                                  check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(tmp)], input=arch, check=True)
            tmp.rename(dest)
            log(f"extracted {mirror} {commit[:12]} -> {dest}")
        info[tool] = {"repo": mirror.replace("+", "/"), "commit": commit, "path": str(dest)}
    (SCRATCH / "repos.json").write_text(json.dumps(info, indent=1))
    return info


def make_venv(tool: str, repos: dict) -> None:
    venv = VENVS / tool
    marker = venv / ".paper_claim_ready"
    if marker.exists():
        log(f"{tool}: venv ready ({venv})")
        return
    log(f"{tool}: creating {venv}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(pip + VENV_SPECS[tool], check=True)
    if tool == "autolirpa":
        subprocess.run(pip + ["--no-deps", "--no-build-isolation", repos["autolirpa"]["path"]], check=True)
    freeze = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True,
                            text=True).stdout
    (venv / "freeze.txt").write_text(freeze)
    marker.write_text("ok\n")
    log(f"{tool}: done")


def main(tools: list[str] | None = None) -> None:
    repos = extract_repos()
    for tool in tools or list(VENV_SPECS):
        make_venv(tool, repos)


if __name__ == "__main__":
    main(sys.argv[1:] or None)
