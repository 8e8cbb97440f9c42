"""Run a solver on instance files (J solver processes at a time) and turn each run into a result.json.

A run directory `<runs>/<instance stem>__<solver>/` holds the start file, the solver's native solution
file and log, and `result.json`, written last. One lipgen at a time works in a run directory (its
`.lock`, see runlock.py); another one skips it, or waits with `wait=True`. A finished run is reused only
when it ended normally (optimal, infeasible, or a limit reached) with the very same settings: solver and
its version, time limit, gap, threads, seed, memory limit, warm start and the instance's checksum.
Anything else (failed, killed, interrupted, other settings) is redone.

Solvers run as subprocesses watched from the calling thread. If that thread is interrupted (^C, or the
SIGINT/SIGTERM that `interrupts.interrupts_raise` turns into an exception), every solver still running is
killed with its process group and its run is recorded as interrupted before the exception goes on.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .. import __version__, atomic
from ..results.check import check_record
from ..errors import LipgenError
from ..formulation import MILP, NONCONVEX_MIQCQP, NONCONVEX_MIQP, lipschitz_from_objective
from ..instance import instance_stem_of, load_sidecar, network_of, sidecar_for
from .interrupts import Interrupted, deferred
from ..parsers import parse
from ..parsers import record as rec
from ..parsers.live import LogFollower
from ..paths import check_output_dir, file_sha256
from ..results.bounds import SUPERSEDED, UNVERIFIED, best_anchor_upper, confirm_upper, lipschitz_quantities
from .lock import LOCK_NAME, RunLock
from ..solvers import Executable, Invocation, SolveOptions, get_backend, log_tail, write_mip_start
from ..solvers.backends import MIP_START, SOLVERS
from ..solvers.runner import SolverProcess, kill_leftovers
from .warmstart import start_values

RESULT = "result.json"
# Runs that ended normally: their numbers are what the solver can say with these settings.
REUSABLE = (rec.OPTIMAL, rec.INFEASIBLE, rec.TIME_LIMIT, rec.GAP_LIMIT, rec.NODE_LIMIT, rec.MEMORY_LIMIT)
LOCKED = "locked"  # another lipgen works on the run; not written to disk
UNSUPPORTED = "unsupported"
TICK = 0.1  # seconds between looks at the running solvers
AUTO = "auto"  # --solver auto: per instance, the first solver of AUTO_ORDER that can take it
# the free solvers, best first, per problem class: measured (benchmarks/solve_speed.md), SCIP with lipgen's
# recommended parameters is faster than HiGHS on the MILPs too, so auto runs SCIP; HiGHS stays an explicit choice
AUTO_ORDER = ("scip", "highs")
MAX_JOBS = 1024  # solver processes at once on one machine
LIVE_EVERY = 1.0  # seconds between reads of their growing logs


def verify_instance(instance: Path, sidecar: dict) -> str:
    """The instance file's checksum, after checking it is the one its sidecar describes (LipgenError otherwise):
    a solver runs only on the bytes lipgen wrote, never on a file edited or cut short since."""
    if sidecar["instance"] != instance.name:
        raise LipgenError(f"{instance}: its sidecar {sidecar_for(instance).name} describes {sidecar['instance']}, "
                          "another file")
    actual = file_sha256(instance, what="instance file")
    if actual != sidecar["instance_sha256"]:
        raise LipgenError(f"{instance}: its checksum {actual[:12]}... differs from its sidecar's "
                          f"{sidecar['instance_sha256'][:12]}... (the file was changed or cut short after lipgen "
                          "generate wrote it): generate it again, or pass --no-verify to solve it anyway")
    return actual


def run_dir(runs: Path, instance: Path, solver: str) -> Path:
    return runs / f"{instance_stem_of(instance.name)}__{solver}"


def verdict(sidecar: dict, solver: str) -> dict:
    """Whether `solver` can take the instance, and why not (`{"ok": ..., "why": ...}`), from its sidecar.

    Sidecars written before lipgen knew HiGHS have no entry for it: HiGHS takes exactly the MILPs."""
    found = sidecar["solvers"].get(solver)
    if found is None and solver == "highs":
        return {"ok": sidecar["problem_class"] == MILP,
                "why": f"HiGHS takes no quadratic term together with integer variables and this one is a "
                       f"{sidecar['problem_class']}"}
    return found or {"ok": False, "why": f"unknown solver {solver}"}


def auto_solver(sidecar: dict) -> str:
    """The solver `--solver auto` runs on an instance: the first of AUTO_ORDER that can take it."""
    return next((s for s in AUTO_ORDER if verdict(sidecar, s)["ok"]), AUTO_ORDER[-1])


def check_setup(solver: str, opts: SolveOptions, jobs: int = 1, solver_path: str | None = None) -> Executable | None:
    """Every solve option checked, and the solver found, before anything is written (for `auto`, where the
    solvers depend on the instances, `solve_all` finds them once it has read the sidecars: None here)."""
    if solver not in SOLVERS and solver != AUTO:
        raise LipgenError(f"--solver {solver!r} is not supported: use one of {', '.join(SOLVERS)} or {AUTO}")
    opts.validate()
    if not isinstance(jobs, int) or jobs < 1:
        raise LipgenError(f"--jobs must be at least 1, got {jobs}")
    if jobs > MAX_JOBS:
        raise LipgenError(f"--jobs must be at most {MAX_JOBS}, got {jobs}")
    if solver_path is not None and not solver_path.strip():
        raise LipgenError("--solver-path is empty: name the solver's executable")
    if solver == AUTO:
        if solver_path:
            raise LipgenError("--solver-path names one solver's executable and --solver auto may run several: "
                              "name the solver, or point "
                              f"{' / '.join('$LIPGEN_' + s.upper() for s in AUTO_ORDER)} at the executables")
        return None
    return get_backend(solver).locate(solver_path)


def options_record(opts: SolveOptions) -> dict:
    d = asdict(opts)
    d["mip_start"] = str(d["mip_start"]) if d["mip_start"] else None
    return d


# parameters that `nonconvex` sets through the backends, never passed twice
NONCONVEX_PARAMS = {"gurobi": ("NonConvex",), "cplex": ("optimalitytarget",)}


def effective_options(opts: SolveOptions, sidecar: dict, solver: str, solver_defaults: bool = False) -> SolveOptions:
    """The options a run of this instance uses: the nonconvex switch its class needs and, unless
    `solver_defaults`, the solver parameters the sidecar recommends (the user's own extras win)."""
    nonconvex = sidecar["problem_class"] in (NONCONVEX_MIQP, NONCONVEX_MIQCQP)
    if solver_defaults:
        return replace(opts, nonconvex=nonconvex)
    params = {k: v for k, v in (sidecar["solvers"].get(solver, {}).get("params") or {}).items()
              if k not in NONCONVEX_PARAMS.get(solver, ())}
    return replace(opts, nonconvex=nonconvex, extra={**params, **opts.extra})


def settings_record(solver: str, exe: Executable, opts: SolveOptions, warm_start: bool, sidecar: dict) -> dict:
    """Everything that decides what a run gives: a finished run is reused only under equal settings."""
    settings = {"solver": solver, "solver_version": exe.version, "time_limit": opts.time_limit, "gap": opts.gap,
                "threads": opts.threads, "seed": opts.seed, "mem_limit": opts.mem_limit, "extra": opts.extra,
                "warm_start": bool(warm_start), "instance_sha256": sidecar["instance_sha256"]}
    return json.loads(json.dumps(settings))  # as it reads back from result.json


def ended_by_itself(old: dict) -> bool:
    """A stored run that ended normally (optimal, a limit, ...), not one cancelled, killed or lost."""
    return old.get("status") in REUSABLE and not old.get("killed") and old.get("returncode") == 0


def reusable(old: dict, settings: dict) -> bool:
    """Whether a stored result may stand for a run with `settings`."""
    return old.get("settings") == settings and ended_by_itself(old)


def finished_result(rdir: Path, settings: dict) -> dict | None:
    """The stored result of this run directory when it may be reused with `settings`."""
    try:
        old = json.loads((rdir / RESULT).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return old if isinstance(old, dict) and reusable(old, settings) else None


def base_result(instance: Path, sidecar: dict, solver: str, opts: SolveOptions, settings: dict,
                solved_sha256: str | None = None) -> dict:
    """What every result.json holds; `instance_sha256` is the checksum of the file really solved (None: not
    verified, --no-verify; then the sidecar's is recorded and `instance_verified` is false)."""
    return {"lipgen_version": __version__, "instance": instance.name, "instance_path": str(instance.resolve()),
            "instance_sha256": solved_sha256 or sidecar["instance_sha256"],
            "instance_verified": solved_sha256 is not None, "sidecar": sidecar_for(instance).name,
            "network": sidecar["network"]["name"], "norms": sidecar["norms"], "domain": sidecar["domain"].get("tag"),
            "bound": sidecar["bound"], "encoding": sidecar["encoding"], "problem_class": sidecar["problem_class"],
            "solver": solver, "solver_version": settings["solver_version"], "options": options_record(opts),
            "settings": settings}


@dataclass
class _Task:
    """One instance of the batch, from its claim to its result."""

    index: int
    instance: Path
    sidecar_path: Path
    sidecar: dict
    solver: str  # the one that runs (for --solver auto, chosen by the instance's class)
    exe: Executable
    rdir: Path
    settings: dict
    lock: RunLock | None = None
    proc: SolverProcess | None = None
    inv: Invocation | None = None
    opts: SolveOptions | None = None
    follower: LogFollower | None = None
    cleaned: list[int] = field(default_factory=list)
    sha256: str | None = None  # the instance file's checksum, verified against its sidecar (None: --no-verify)


class _Batch:
    def __init__(self, instances, solver, runs, opts, exe, *, jobs, warm_start, force, wait, kill_grace, on_done,
                 on_live, solver_defaults=False, solver_path=None, verify=True, judge=None):
        self.requested, self.runs, self.opts = solver, Path(runs), opts
        self.judge = judge  # judge(result) -> {instance name: why} of the runs to stop now (lipgen/run/race.py);
        # judge.poll(), when it has one, is asked the same every tick (lipgen/run/split_first.py: a tree beside)
        self.cancelled: dict[int, str] = {}  # task index -> why it was stopped before it started
        self.jobs, self.warm_start, self.force, self.wait = jobs, warm_start, force, wait
        self.kill_grace, self.on_done, self.on_live = kill_grace, on_done, on_live
        self.verify = verify
        self.tasks: list[_Task] = []
        exes = {} if exe is None else {solver: exe}
        for i, inst in enumerate(map(Path, instances)):  # every sidecar read, every solver found, before any starts
            sidecar_path = sidecar_for(inst)
            sidecar = load_sidecar(sidecar_path)
            chosen = auto_solver(sidecar) if solver == AUTO else solver
            if chosen not in exes:
                exes[chosen] = get_backend(chosen).locate(solver_path)
            t_opts = effective_options(opts, sidecar, chosen, solver_defaults)
            rdir = run_dir(self.runs, inst, chosen)
            if verdict(sidecar, chosen)["ok"]:  # paths the solver cannot read: refused before any folder exists
                get_backend(chosen).preflight(exes[chosen], inst, rdir, t_opts, warm_start)
            sha = verify_instance(inst, sidecar) if verify else None
            self.tasks.append(_Task(i, inst, sidecar_path, sidecar, chosen, exes[chosen], rdir,
                                    settings_record(chosen, exes[chosen], t_opts, warm_start, sidecar), opts=t_opts,
                                    sha256=sha))
        seen: dict[Path, Path] = {}
        for t in self.tasks:
            other = seen.setdefault(t.rdir.resolve(), t.instance)
            if other.resolve() != t.instance.resolve():
                raise LipgenError(f"{other} and {t.instance} would share the run directory {t.rdir}: solve them "
                                  "into different output directories")
        self.results: list[dict | None] = [None] * len(self.tasks)
        self.running: list[_Task] = []
        self._networks: dict = {}

    # -- the loop ------------------------------------------------------------------------------------------
    def run(self) -> list[dict]:
        # runs that will be reused first: a judge sees them before any solver starts (a race re-run reuses its
        # winner and stops the loser before it starts)
        queue = deque(sorted(self.tasks, key=lambda t: self.force or finished_result(t.rdir, t.settings) is None))
        waiting: deque[_Task] = deque()
        next_live = time.monotonic() + LIVE_EVERY
        try:
            while queue or waiting or self.running:
                for t in list(self.running):
                    if t in self.running and (outcome := t.proc.poll()) is not None:  # not stopped by a judge
                        result = self._finish(t, outcome)
                        self.running.remove(t)
                        self._done(t, result)
                if self.judge is not None and hasattr(self.judge, "poll"):  # news from outside the batch
                    for name, why in self.judge.poll().items():
                        self._cancel(name, why)
                for source in (waiting, queue):
                    for _ in range(len(source)):
                        if len(self.running) >= self.jobs:
                            break
                        t = source.popleft()
                        result = self._claim(t) if t.index not in self.cancelled else self._skip(t)
                        if result is _WAIT:
                            waiting.append(t)
                        elif result is not None:
                            self._done(t, result)
                if self.on_live is not None and time.monotonic() >= next_live:
                    self.on_live(self._live(waiting))
                    next_live = time.monotonic() + LIVE_EVERY
                if self.running or waiting:
                    time.sleep(TICK)
        except BaseException as exc:
            self._stop(exc)
            raise
        finally:
            for t in self.tasks:
                if t.lock is not None:
                    t.lock.release()
        return self.results

    def _done(self, t: _Task, result: dict) -> None:
        if t.lock is not None:
            t.lock.release()
            t.lock = None
        result["solver_requested"] = self.requested  # `solver` says which one ran
        self.results[t.index] = result
        if self.on_done is not None:
            self.on_done(result)
        if self.judge is not None:
            for name, why in self.judge(result).items():
                self._cancel(name, why)

    def _cancel(self, instance_name: str, why: str) -> None:
        """Stop one run a judge no longer needs: killed and recorded as interrupted (redone, never reused, by a
        later batch) when it runs, never started when it has not."""
        for t in self.tasks:
            if t.instance.name != instance_name or self.results[t.index] is not None or t.index in self.cancelled:
                continue
            self.cancelled[t.index] = why
            if t in self.running:
                self.running.remove(t)
                t.proc.kill()
                self._done(t, self._record_stopped(t, why, "lipgen"))

    # -- claiming a run: reuse it, skip it, wait for it, or start it ------------------------------------------
    def _claim(self, t: _Task):
        can = verdict(t.sidecar, t.solver)
        if not can["ok"]:
            return self._unsaved(t, UNSUPPORTED, can["why"])
        if t.solver == "cbc" and t.sidecar.get("gzip"):
            return self._unsaved(t, UNSUPPORTED, "CBC cannot read gzipped files; generate without --gzip")
        lock = RunLock(t.rdir)
        if not lock.acquire():
            if not self.force and (old := finished_result(t.rdir, t.settings)) is not None:
                return dict(old, reused=True, run_dir=str(t.rdir))  # the other lipgen may be reading it too
            if self.wait:
                return _WAIT
            return self._unsaved(t, LOCKED, f"skipped: {lock.describe_holder()} is working on {t.rdir} "
                                            "(use --wait to wait for it)")
        t.lock = lock
        if not self.force and (old := finished_result(t.rdir, t.settings)) is not None:
            return dict(old, reused=True, run_dir=str(t.rdir))
        self._start(t)
        return None

    def _skip(self, t: _Task) -> dict:
        """A run a judge stopped before it started: reused when finished (it costs nothing), else not started."""
        if not self.force and (old := finished_result(t.rdir, t.settings)) is not None:
            return dict(old, reused=True, run_dir=str(t.rdir))
        return dict(self._unsaved(t, rec.INTERRUPTED, f"not started: {self.cancelled[t.index]}"), stopped_by="lipgen")

    def _unsaved(self, t: _Task, status: str, text: str) -> dict:
        opts = self.opts
        return dict(base_result(t.instance, t.sidecar, t.solver, opts, t.settings, t.sha256), status=status,
                    status_text=text, lipschitz=None, run_dir=str(t.rdir), reused=False)

    def _start(self, t: _Task) -> None:
        if t.lock.previous.get("state") not in (None, "locked", "finished"):
            t.cleaned = kill_leftovers(t.rdir)  # a dead lipgen's solver, still running
        _empty_run_dir(t.rdir)
        if self.warm_start:
            values = start_values(self._network(t), t.sidecar)
            t.opts = replace(t.opts, mip_start=write_mip_start(t.solver, t.rdir / MIP_START, values))
        t.inv = get_backend(t.solver).command(t.exe, t.instance, t.rdir, t.opts)
        t.lock.record(state="running")
        with deferred():  # an interrupt must find the solver in `running`
            t.proc = SolverProcess(t.inv, t.rdir, t.opts.time_limit, kill_grace=self.kill_grace)
            self.running.append(t)
        t.lock.record(state="running", solver_pid=t.proc.pid)
        t.follower = LogFollower(t.solver, t.inv.log_path)

    def _network(self, t: _Task):
        key = (t.sidecar_path.parent.resolve(), t.sidecar["network"]["file"])
        if key not in self._networks:
            self._networks[key] = network_of(t.sidecar, t.sidecar_path)
        return self._networks[key]

    # -- a run ends --------------------------------------------------------------------------------------------
    def _finish(self, t: _Task, outcome) -> dict:
        inv, opts = t.inv, t.opts
        log = inv.log_path if inv.log_path.exists() else inv.stdout_path
        json_result = next((p for p in inv.extra_outputs if p.suffix == ".json" and p.exists()), None)
        record = parse(t.solver, inv.solution_path, log, result_json=json_result)
        if outcome.killed:
            record = replace(record, status=rec.KILLED, primal=None, dual=None, values={},
                             message=f"killed after {outcome.wall_time:.1f} s (time limit plus grace); log tail: "
                                     + log_tail(log, 5).replace("\n", " | "))
        elif outcome.returncode != 0 and record.status in rec.NORMAL_END:
            record = replace(record, status=rec.CRASHED, primal=None, dual=None, values={},
                             message=f"exit code {outcome.returncode}; log tail: " + log_tail(log, 5).replace("\n", " | "))
        record.solver_version = record.solver_version or t.exe.version
        if t.sha256 is not None and file_sha256(t.instance) != t.sha256:  # rewritten while the solver read it
            record = replace(record, status=rec.CRASHED, primal=None, dual=None, values={},
                             message=f"{t.instance} changed while the solver ran: its numbers belong to no known file")
        quantities = lipschitz_quantities(record, t.sidecar, self._network(t), gap_tol=opts.gap)
        check = check_record(record, t.sidecar, self._network(t), inv.solution_path)
        if check is not None and not check.ok:
            quantities["status_text"] += f"; the solution fails the check: {check.message}"
        result = base_result(t.instance, t.sidecar, t.solver, opts, t.settings, t.sha256)
        result.update({
            "solver_version": record.solver_version,
            "invocation": {"argv": inv.argv, "executable": t.exe.description, "kind": t.exe.kind,
                           "notes": inv.notes},
            "status": record.status, "status_text": quantities["status_text"],
            # a solver's "no value" (+-inf, e.g. the dual bound of an unbounded report) is null: JSON has no infinity
            "primal": _finite_or_none(record.primal), "dual": _finite_or_none(record.dual),
            "gap": _finite_or_none(record.gap), "time": record.time,
            "wall_time": outcome.wall_time, "nodes": record.nodes, "n_solutions": record.n_solutions,
            "returncode": outcome.returncode, "killed": outcome.killed,
            "lipschitz": quantities,
            "check": None if check is None else check.to_dict(),
            "files": {"solution": inv.solution_path.name if inv.solution_path.exists() else None,
                      "log": log.name if log.exists() else None},
        })
        return self._save(t, result, state="finished")

    def _save(self, t: _Task, result: dict, state: str) -> dict:
        result.setdefault("lipschitz", None)
        result["run_dir"] = str(t.rdir)
        if t.cleaned:
            result["leftovers_killed"] = t.cleaned
        atomic.write_json(t.rdir / RESULT, result)
        t.lock.record(state=state)
        return dict(result, reused=False)

    def _stop(self, exc: BaseException) -> None:
        """Kill every solver still running, then record those runs as interrupted (never reused)."""
        running, self.running = self.running, []
        for t in running:
            t.proc.kill()
        if isinstance(exc, Interrupted):
            why, by = f"interrupted by {exc.name}", exc.name
        elif isinstance(exc, KeyboardInterrupt):
            why, by = "interrupted", "SIGINT"
        else:
            why, by = f"stopped because lipgen failed ({type(exc).__name__}: {exc})", None
        for t in running:
            try:
                self._record_stopped(t, why, by)
            except OSError:
                pass  # no result.json: the run counts as unfinished, which is true
        if isinstance(exc, Interrupted):
            exc.stopped += [t.instance.name for t in running]

    def _record_stopped(self, t: _Task, why: str, by: str | None) -> dict:
        """The result.json of a run whose solver lipgen killed: interrupted, so that it is redone next time."""
        outcome = t.proc.outcome
        result = base_result(t.instance, t.sidecar, t.solver, t.opts, t.settings, t.sha256)
        result.update(status=rec.INTERRUPTED, status_text=f"{why} after {outcome.wall_time:.1f} s; lipgen "
                                                          "stopped the solver (the run is redone next time)",
                      stopped_by=by, wall_time=outcome.wall_time, returncode=outcome.returncode, killed=False,
                      invocation={"argv": t.inv.argv, "executable": t.exe.description, "kind": t.exe.kind,
                                  "notes": t.inv.notes})
        return self._save(t, result, state="interrupted")

    # -- progress --------------------------------------------------------------------------------------------
    def _live(self, waiting) -> list[dict]:
        """Where every running solver stands, in Lipschitz terms, from its growing log."""
        out = []
        for t in self.running:
            b = t.follower.update()
            out.append({"instance": t.instance.name, "bound": t.sidecar["bound"], "mode": t.sidecar["mode"],
                        "state": "running",
                        "elapsed": t.proc.elapsed, "incumbent": _lipschitz_or_none(b.primal, t.sidecar),
                        "best_bound": _lipschitz_or_none(b.dual, t.sidecar),
                        "gap": b.relative_gap()})
        out += [{"instance": t.instance.name, "bound": t.sidecar["bound"], "state": "waiting"} for t in waiting]
        return out


def _lipschitz_or_none(objective: float | None, sidecar: dict) -> float | None:
    """A log's objective value as a Lipschitz value (None stays None)."""
    if objective is None:
        return None
    return lipschitz_from_objective(objective, sidecar["objective_transform"], sidecar["scaling"]["objective_scale"])


_WAIT = object()  # a run locked by another lipgen, to be tried again (--wait)


def _empty_run_dir(rdir: Path) -> None:
    """Remove what an earlier run left in `rdir`; the lock file stays (it is held)."""
    for p in rdir.iterdir():
        if p.name == LOCK_NAME:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _finite_or_none(x):
    return x if x is None or not isinstance(x, float) or math.isfinite(x) else None


def solve_all(instances: list[Path], solver: str, runs: Path, opts: SolveOptions, *, jobs: int = 1,
              solver_path: str | None = None, warm_start: bool = True, force: bool = False, wait: bool = False,
              kill_grace: float | None = None, on_done=None, on_live=None, solver_defaults: bool = False,
              verify: bool = True, judge=None) -> list[dict]:
    """Solve every instance, `jobs` solver processes at a time; results in the order of `instances`.

    `solver` is one of SOLVERS or `auto` (per instance, the first of AUTO_ORDER that can take it: SCIP,
    measured the fastest free solver on every class); each result's `solver` is the one that ran, `solver_requested` what was asked for.
    Each result has `reused` (True: an earlier run with the same settings), and `status` `locked` when another
    lipgen held the run (unless `wait`). `on_done(result)` is called as each finishes, `on_live(states)` about
    once a second with where each running solver stands (its log's incumbent and bound, as Lipschitz values).
    Runs start from the sidecar's best certified point (`warm_start`) and use the solver parameters the sidecar
    recommends unless `solver_defaults`. With `verify` (the default) every instance file must match its sidecar's
    checksum (LipgenError before anything is written) and each result records the checksum of the file solved.
    `judge(result)`, called as each run ends, returns the runs to stop ({instance name: why}; lipgen/run/race.py).
    """
    exe = check_setup(solver, opts, jobs, solver_path)
    check_output_dir(runs, "output")
    batch = _Batch(instances, solver, runs, opts, exe, jobs=jobs, warm_start=warm_start, force=force, wait=wait,
                   kill_grace=kill_grace, on_done=on_done, on_live=on_live, solver_defaults=solver_defaults,
                   solver_path=solver_path, verify=verify, judge=judge)
    return batch.run()


def _second_solver(first: str, sidecar: dict) -> str | None:
    """Another solver that can take the instance, for the premise check: SCIP and HiGHS check each other on
    MILPs; other classes go to SCIP, or from SCIP to Gurobi when its size-limited license takes the file."""
    ok = {k for k, v in sidecar["solvers"].items() if v["ok"] and not v.get("license_note")}
    for cand in {"scip": ("highs", "gurobi"), "highs": ("scip",)}.get(first, ("scip",)):
        if cand in ok:
            return cand
    return None


def check_premise(up: dict, sidecar: dict, instance: Path, runs: Path, opts: SolveOptions, *, warm_start: bool = True,
                  force: bool = False, wait: bool = False, solver_defaults: bool = False, log=None) -> dict:
    """The widening's premise (docs/formulation.md, 5b). When the sidecar cannot establish it, the upper problem
    is solved again by a second solver; their bounds must agree, else the MIP bound is `unverified`. Updates the
    upper run's quantities in place (`upper` set only when confirmed).

    No second solve when a certified bound known before solving (Jacobian, naive) is already at most the unverified
    one: the reported upper bound is the least of them, so the MIP's cannot change it (verdict `superseded`)."""
    q = up.get("lipschitz") or {}
    info = q.get("premise") or {"established": True, "reasons": []}
    out = {"established": info["established"], "reasons": info["reasons"]}
    if info["established"] or q.get("upper_unverified") is None:
        return out
    anchor, source = best_anchor_upper(sidecar.get("anchors") or {})
    if anchor is not None and anchor <= q["upper_unverified"]:
        out.update(verdict=SUPERSEDED, reason=f"the {source} ({anchor:.9g}) is at most the unverified MIP bound "
                                              f"({q['upper_unverified']:.9g}): it is the upper bound reported")
        return out
    second = _second_solver(up["solver"], sidecar)
    if second is None:
        out.update(verdict=UNVERIFIED, reason="; ".join(info["reasons"]) + "; no second solver can take the instance")
        return out
    if log is not None:
        log(f"premise of the upper bound not established ({'; '.join(info['reasons'])}): solving it again with "
            f"{second}")
    again = solve_all([instance], second, runs, opts, warm_start=warm_start, force=force, wait=wait,
                      solver_defaults=solver_defaults)[0]
    other = (again.get("lipschitz") or {}).get("upper_unverified")
    value, why = confirm_upper(q["upper_unverified"], other, sidecar["scaling"]["objective_scale"])
    out.update(second_solver=second, second_upper=other, second_status=again["status"])
    if value is None:
        out.update(verdict=UNVERIFIED, reason="; ".join(info["reasons"]) + f"; {why}")
    else:
        q["upper"] = value
        out.update(verdict="confirmed")
    return out
