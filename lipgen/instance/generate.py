"""Standardized instances: file names, the sidecar JSON next to each file, the directory manifest.

The sidecar is the single source of truth for reading a solution back: it names the network copy
kept beside the instances, the domain, norms, bound kind, eps, encoding, the objective-to-L
transform, the variable naming scheme, model statistics and which solvers can take the file.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__, atomic
from ..bounds import bounds_method as canonical_bounds_method
from ..bounds import compute_bounds, equilibrate, interval_bounds, naive_upper_bound, stabilities
from ..domain import Box
from ..errors import LipgenError
from ..bounds.jacobian import anchor_bounds
from ..bounds.sdp import sdp_upper
from ..formulation import Formulation, JacobianPlan, Spec, build, plan_jacobian, resolve_spec, scale_anchor
from ..formulation.scaling import conditioning
from ..io import save
from ..io.covector import fold_error_norm
from ..lower.certificate import certify_point
from ..lower.region_walk import region_walk
from ..lower.sampling import sampled_lower_bound
from ..network import Network
from ..writers import file_suffix, write_model
from .naming import MANIFEST, NETWORK_DIR, instance_stem, instance_stem_of, network_copy_name
from .settings import write_settings_files
from .sidecar import SIDECAR_VERSION

TARGETS = ("any", "scip", "gurobi", "cplex", "highs", "cbc")
RACE_MODES = ("forward", "backward")  # the upper problems `lipgen run --mode race` runs against each other
# free-license limits (docs/solvers.md 7), recorded so a refusal can be foreseen and explained
GUROBI_QUADRATIC_VAR_LIMIT = 200
GUROBI_VAR_LIMIT = 2000
CPLEX_LIMIT = 1000


@dataclass
class Generated:
    path: Path
    sidecar_path: Path
    sidecar: dict
    formulation: Formulation


def check_target(form: Formulation, target: str, gzip: bool) -> None:
    """Refuse, before anything is written, a file the target solver cannot take."""
    if target not in TARGETS:
        raise LipgenError(f"--target {target!r} is not supported: use one of {', '.join(TARGETS)}")
    if target == "any":
        return
    verdict = form.solvers[target]
    if not verdict["ok"]:
        raise LipgenError(f"--target {target}: {verdict['why']}")
    if target == "cbc" and gzip:
        raise LipgenError("--target cbc: CBC cannot read gzipped files; drop --gzip")


def license_notes(form: Formulation) -> dict:
    st = form.model.stats()
    quad = st["quadratic_constraint_terms"] + st["quadratic_objective_terms"] > 0
    notes = {}
    if quad and st["variables"] > GUROBI_QUADRATIC_VAR_LIMIT:
        notes["gurobi"] = (f"{st['variables']} variables with quadratic terms exceed the size-limited pip license "
                           f"({GUROBI_QUADRATIC_VAR_LIMIT}); a full license is needed")
    elif max(st["variables"], st["constraints"]) > GUROBI_VAR_LIMIT:
        notes["gurobi"] = f"more than {GUROBI_VAR_LIMIT} variables or constraints: beyond the size-limited pip license"
    if max(st["variables"], st["constraints"]) > CPLEX_LIMIT:
        notes["cplex"] = (f"{st['variables']} variables / {st['constraints']} constraints exceed the Community "
                          f"Edition limit ({CPLEX_LIMIT}); a full license is needed")
    return notes


def make_sidecar(network: Network, box: Box, form: Formulation, *, instance_name: str, fmt: str, gzip: bool,
                 target: str, network_file: str, anchors: dict, data: bytes | None = None,
                 sha256: str | None = None, mode_choice: dict | None = None) -> dict:
    """The sidecar of one written instance; its hash from `sha256`, else computed from the file's `data`;
    `mode_choice`: why `--mode auto` took the mode (formulation.mode.choose_mode), absent for an explicit mode."""
    m = form.model
    spec = form.spec
    solvers = {k: dict(v) for k, v in form.solvers.items()}
    for solver, note in license_notes(form).items():
        solvers[solver]["license_note"] = note
    sidecar = {
        "sidecar_version": SIDECAR_VERSION,
        "lipgen_version": __version__,
        "instance": instance_name,
        "instance_sha256": sha256 if sha256 is not None else hashlib.sha256(data).hexdigest(),
        "format": fmt,
        "gzip": gzip,
        "sense": "min",
        "network": {
            "name": network.name,
            "file": network_file,
            "digest": network.digest(),
            "source": network.meta.get("source"),
            "source_sha256": network.meta.get("source_sha256"),
            "layout": network.meta.get("layout"),
            "covector": network.meta.get("covector"),
            "widths": network.widths,
        },
        "domain": dict(box.to_json(), tag=box.tag()),
        "norms": {"input": spec.alpha, "output": spec.beta},
        "bound": spec.bound,
        "eps": form.eps,
        "encoding": spec.encoding,
        "mode": spec.mode,
        "bounds_method": form.bounds_method,
        "scaling": form.scaling.to_json(),
        "objective_transform": form.objective_transform,
        "objective_to_lipschitz": {"neg": "L = objective_scale * -obj",
                                   "sqrt_neg": "L = objective_scale * sqrt(-obj)"}[form.objective_transform],
        "bound_meaning": ("upper bound of L: use the solver's dual (best) bound, not the incumbent, widened by the "
                          "solver's tolerances (docs/formulation.md)" if spec.bound == "upper" else
                          "lower bound of L: an incumbent's value counts once its input point is checked to lie "
                          "in its activation region (docs/formulation.md)"),
        "neurons": form.states,
        "naming": form.naming,
        "input_vars": [f"x_{i}" for i in range(network.n_inputs)],
        "direction_vars": [f"v_{i}" for i in range(network.n_inputs)] if spec.mode == "forward" else [],
        "covector_vars": ([f"cov_{j}" for j in range(network.n_outputs)]
                          if spec.mode == "backward" and network.n_outputs > 1 else []),
        "statistics": m.stats(),
        "layers": form.layers,
        "problem_class": form.problem_class,
        "solvers": solvers,
        "target": target,
        "anchors": anchors,
        "conditioning": conditioning(m),
        # the per-neuron powers of two that balance each hidden neuron's row against its next column (exactly the
        # same function); used by the naive bound. The instance's rows are per-neuron normalised already
        # (scaling.neuron_scales): with the balanced network they are bit for bit the same (tests/test_hostile.py)
        "equilibration": {"exponents": [e.tolist() for e in equilibrate(network)[1]]},
        # what went into the rows beyond the network and the spec: the Jacobian entry bounds (null when left out),
        # and whether signs proved by bounds are fixed (absent in older sidecars: every sign a binary)
        "formulation": {"jacobian_bounds": form.jacobian, "fixed_signs": True},
    }
    if mode_choice is not None:
        sidecar["mode_choice"] = mode_choice
    return sidecar


def compute_anchors(network: Network, box: Box, alpha: str, beta: str, n_samples: int = 1000, seed: int = 0,
                    stability: list | None = None) -> dict:
    """The cheap anchors: the naive and the Jacobian upper bound (`jacobian_upper`, its method `jacobian_method`; both
    widened by a covector's folding error), the best sampled point's norm in float64 (`sampled_estimate`, an estimate)
    and certified (`sampled_certified`), the region walk's certified value (`search_lower`)."""
    if stability is None:
        stability = stabilities(network, interval_bounds(network, box.lower, box.upper))
    sampled = sampled_lower_bound(network, box.lower, box.upper, alpha, beta, n=n_samples, seed=seed)
    cert = certify_point(network, box, alpha, beta, sampled.x, sampled.v, stability)
    naive = naive_upper_bound(network, alpha, beta, stability)
    jac = anchor_bounds(network, stability)
    fold = fold_error_norm(network.meta.get("covector"), alpha)

    def widened(bound: float) -> float | None:  # the folded network's constant is within `fold` of the covector's
        if not np.isfinite(bound):
            return None  # an overflow: no bound (JSON has no infinity)
        return float(np.nextafter(bound + fold, np.inf)) if fold else float(bound)

    out = {
        "naive_upper": float(np.nextafter(naive + fold, np.inf)) if fold else naive,
        "jacobian_upper": widened(jac.norm_upper(alpha, beta)),
        "jacobian_method": jac.method,
        "sampled_estimate": sampled.value,
        "sampled_certified": cert.value or 0.0,
        "sampled_points": sampled.n_points,
        "sampled_seed": seed,
        "sampled_x": sampled.x.tolist(),
        "sampled_v": sampled.v.tolist(),
    }
    if alpha == beta == "2":  # LipSDP-Neuron, verified (lipgen/bounds/sdp.py); only where it takes seconds
        sdp = sdp_upper(network, stability)
        out.update(sdp_upper=None if sdp.value is None else widened(sdp.value), sdp_reason=sdp.reason)
    # the region walk from the best sampled points: a certified point for the MIP start and the summary
    found = region_walk(network, box, alpha, beta, stability, given=[sampled.x])
    if found is not None and found.value > 0:
        out.update(search_lower=found.value, search_x=found.x.tolist(), search_v=found.v.tolist(),
                   search_moves=found.steps)
    return out


def objective_estimate(anchors: dict) -> float:
    """The value the objective's scale Lambda is taken from (`formulation.scale_anchor`): the best certified lower
    bound, else the smaller of the naive and the Jacobian upper bound."""
    best = max(anchors.get("sampled_certified", 0.0), anchors.get("search_lower", 0.0))
    return scale_anchor(best, [anchors["naive_upper"], anchors.get("jacobian_upper")])


def generate(network: Network, box: Box, outdir: str | Path, *, alpha: str = "2", beta: str = "2",
             bounds: tuple[str, ...] = ("upper", "lower"), eps: float | None = None, encoding: str = "bigm",
             mode: str = "auto", bounds_method: str = "linear", fmt: str = "mps", gzip: bool = False,
             target: str = "any", jacobian_bounds: bool = True, progress=None,
             log: Callable[[str], None] | None = None, race: bool = False) -> list[Generated]:
    """Write one instance file (+ sidecar) per bound kind, a copy of the network and the manifest; with `race`, the
    upper problem in both modes (`lipgen run --mode race`; their file names differ by the mode).

    jacobian_bounds: bound the derivative variables and the upper problem's objective by the Jacobian entry
    bounds (computed once, for the resolved mode; docs/formulation.md, section 3c).

    progress(path) is called after each file; log(line) gets one line per finished stage (bounds and
    anchors, models built, each file), the first ones only once every input has been checked.
    """
    outdir = Path(outdir)
    check_network_name(outdir, network)
    clock = _Stage(log)
    bounds_method = canonical_bounds_method(bounds_method)
    layer_bounds = compute_bounds(network, box.lower, box.upper, bounds_method)
    clock.done(f"{bounds_method} bounds", hold=True)
    stability = stabilities(network, layer_bounds)
    anchors = compute_anchors(network, box, alpha, beta, stability=stability)
    clock.done(f"anchors: naive upper {anchors['naive_upper']:.6g}, Jacobian upper {anchors['jacobian_upper'] or float('inf'):.6g} "
               f"({anchors['jacobian_method']}), sampled {anchors['sampled_estimate']:.6g} "
               f"(certified {anchors['sampled_certified']:.6g}, {anchors['sampled_points']} points), region walk "
               f"{anchors.get('search_lower', 0.0):.6g}", hold=True)
    estimate = objective_estimate(anchors)
    forms = []
    plans: dict[str, JacobianPlan] = {}  # per resolved mode: a race's two upper problems differ in it
    problems = [(kind, m) for kind in bounds for m in (RACE_MODES if race and kind == "upper" else (mode,))]
    for kind, kind_mode in problems:
        spec = Spec(alpha=alpha, beta=beta, bound=kind, eps=eps, encoding=encoding, mode=kind_mode)
        spec.check()
        spec, mode_choice = resolve_spec(spec, network, stability)
        jacobian: JacobianPlan | bool = False
        if jacobian_bounds:  # once per mode: the bound kinds share the mode's chains and classification
            if spec.mode not in plans:
                plans[spec.mode] = plan_jacobian(network, stability, spec.mode, alpha, beta)
            jacobian = plans[spec.mode]
        form = build(network, box.lower, box.upper, spec, name=instance_stem(network, box, spec), bounds=layer_bounds,
                     stability=stability, estimate=estimate, bounds_method=bounds_method, jacobian=jacobian)
        check_target(form, target, gzip)
        check_solver_range(form.model)
        forms.append((form, mode_choice))
    jac = "".join(f" with {p.bounds.method} Jacobian bounds (L <= {p.upper:.6g})" for p in list(plans.values())[:1])
    clock.done("built " + ", ".join(f"{f.spec.bound}{f' {f.spec.mode}' if race else ''} model ({f.model.n_vars} "
                                    f"variables, {f.model.n_rows} rows, {f.model.A.nnz} nonzeros)" for f, _ in forms)
               + jac)
    network_file = network_copy_name(network)
    _save_network_copy(network, box, outdir / network_file)
    out = []
    suffix = file_suffix(fmt, gzip)
    for form, mode_choice in forms:
        stem = form.model.name
        path = outdir / f"{stem}{suffix}"
        written = write_model(form.model, path, fmt)
        sidecar = make_sidecar(network, box, form, instance_name=path.name, fmt=fmt, gzip=gzip, sha256=written.sha256,
                               target=target, network_file=network_file, anchors=anchors, mode_choice=mode_choice)
        sidecar_path = outdir / f"{stem}.json"
        atomic.write_json(sidecar_path, sidecar)
        out.append(Generated(path, sidecar_path, sidecar, form))
        clock.done(f"wrote {path.name} ({written.size / 1e6:.1f} MB" +
                   (f", {written.text_size / 1e6:.1f} MB of text)" if gzip else ")"))
        if progress is not None:
            progress(path)
    write_settings_files([g.path for g in out])  # SCIP .set, Gurobi .prm, CPLEX commands, for runs by hand
    update_manifest(outdir, [g.sidecar for g in out])
    return out


class _Stage:
    """Times the stages of `generate` and reports each one as it ends (held ones with the next one)."""

    def __init__(self, log: Callable[[str], None] | None):
        self.log = log
        self.start = time.perf_counter()
        self.held: list[str] = []

    def done(self, what: str, hold: bool = False) -> None:
        now = time.perf_counter()
        self.held.append(f"{what} [{now - self.start:.1f} s]")
        self.start = now
        if not hold:
            for line in self.held:
                if self.log is not None:
                    self.log(line)
            self.held = []


def check_network_name(outdir: Path, network: Network) -> None:
    """Refuse, before writing, a network whose name an other network already has in `outdir`: their instance
    files would overwrite each other."""
    digest = network.digest()
    try:
        entries = json.loads((outdir / MANIFEST).read_text()).get("instances", [])
    except (OSError, ValueError, AttributeError):
        entries = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("network") != network.name:
            continue
        try:
            other = json.loads((outdir / entry["sidecar"]).read_text())["network"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if other.get("digest") != digest:
            raise LipgenError(
                f"{outdir} already holds instances of another network named '{network.name}' (from "
                f"{other.get('source') or other.get('file')}); this one comes from "
                f"{network.meta.get('source') or 'memory'}: rename one network or use another output directory")
    for copy in sorted((outdir / NETWORK_DIR).glob(f"{network.name}-*.h5")):
        if copy.stem[len(network.name) + 1:] != digest[:12] and copy.stem.count("-") == network.name.count("-") + 1:
            raise LipgenError(f"{outdir} already holds another network named '{network.name}' ({copy}); this one "
                              f"comes from {network.meta.get('source') or 'memory'}: rename one network or use "
                              "another output directory")


def _save_network_copy(network: Network, box: Box, path: Path) -> None:
    if not path.exists():  # the name carries the weights' digest: an existing copy is the same network
        lower, upper = (box.lower, box.upper) if network.domain_lower is None else (None, None)
        save(path, network, domain_lower=lower, domain_upper=upper)


def update_manifest(outdir: Path, sidecars: list[dict]) -> dict:
    """Merge these instances into the directory's manifest.json (sorted, no timestamps)."""
    path = outdir / MANIFEST
    entries = {}
    if path.exists():
        try:
            entries = {e["instance"]: e for e in json.loads(path.read_text()).get("instances", [])}
        except (json.JSONDecodeError, KeyError, AttributeError):
            entries = {}
    for sc in sidecars:
        entries[sc["instance"]] = {
            "instance": sc["instance"],
            "sidecar": instance_stem_of(sc["instance"]) + ".json",
            "network": sc["network"]["name"],
            "norms": sc["norms"],
            "domain": sc["domain"].get("tag"),
            "bound": sc["bound"],
            "encoding": sc["encoding"],
            "problem_class": sc["problem_class"],
            "solvers": sorted(k for k, v in sc["solvers"].items() if v["ok"]),
            "statistics": sc["statistics"],
            "sha256": sc["instance_sha256"],
        }
    manifest = {"lipgen_version": __version__, "instances": [entries[k] for k in sorted(entries)]}
    atomic.write_json(path, manifest)
    return manifest


SOLVER_RANGE = 1e15  # solvers read 1e20 and above as infinite; a margin below it keeps every coefficient a number


def check_solver_range(model) -> None:
    """Refuse (before anything is written) a model with a coefficient or right-hand side no solver reads as a
    number: the network or box spans too many orders of magnitude for the exact power-of-two scaling."""
    parts = {"matrix": model.A.data, "right-hand side": model.rhs, "objective": model.obj,
             "quadratic row": model.q_rows[3], "quadratic objective": model.obj_q[2]}
    for what, values in parts.items():
        v = np.abs(np.asarray(values, dtype=np.float64))
        if v.size and not (np.all(np.isfinite(v)) and v.max() < SOLVER_RANGE):
            raise LipgenError(f"{model.name}: the scaled instance has a {what} coefficient of magnitude "
                              f"{v.max():.3g}, beyond what solvers read as a number ({SOLVER_RANGE:g}): the weights "
                              "or the box span too many orders of magnitude")


