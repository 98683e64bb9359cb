"""pytest plugin: `--board`, `--require-hardware`, `--hardware-map`, `--place`, `--coordinator`, `--report-dir`,
`--models`, and the fixtures.

Scenarios ask for `device` (a handshaken link to the board or its twin) or
`evaluation` (the run that model scenarios evaluate into) and never know how
either was made: the plan, the lease, the build and the start all come from
harness/device.py, as for the CLI. The run folder is written by
harness/evaluate/folder.py and its summary by harness/report/.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import attrs
import pytest

from .boards import CatalogError, HardwareMapError, get_board
from .boards.hwmap import HARDWARE_MAP_ENV, provider_for
from .boards.places import COORDINATOR_ENV, PLACE_ENV
from .device import NoHardwareAttached, Plan, leased, open_device, plan_device
from .targets.hardware.errors import HardwareError
from .records import HARDWARE, DeviceRecord, ScenarioResult

DEFAULT_BOARD = "qemu-m4"
_STATE = pytest.StashKey["_Session"]()


@attrs.define
class _Session:
    """What this pytest process knows of its board and its run folder."""

    plan: Plan
    report_dir: Path | None
    results: list[ScenarioResult] = attrs.Factory(list)
    devices: dict[str, DeviceRecord] = attrs.Factory(dict)   # this process's, and the xdist workers'
    folder: object = None                                    # the RunFolder of --report-dir, held all session
    run: object = None                                       # the evaluation's Run, once model scenarios ran


def pytest_addoption(parser):
    group = parser.getgroup("harness", "board under test")
    group.addoption("--board", default=DEFAULT_BOARD, metavar="NAME",
                    help=f"catalog board to run scenarios on (default {DEFAULT_BOARD}); "
                         "a real one when attached, else its emulated twin")
    group.addoption("--require-hardware", action="store_true", default=False,
                    help="fail instead of falling back to the emulated twin when no board is attached")
    group.addoption("--hardware-map", default=os.environ.get(HARDWARE_MAP_ENV), metavar="FILE",
                    help=f"the boards of this YAML hardware map instead of USB detection (docs/hardware.md; default "
                         f"${HARDWARE_MAP_ENV}); each run, or pytest-xdist worker, leases one of them")
    group.addoption("--place", default=None, metavar="NAME",
                    help=f"the board of this labgrid place, acquired for the session (docs/lab.md; default ${PLACE_ENV})")
    group.addoption("--coordinator", default=None, metavar="HOST:PORT",
                    help=f"the labgrid coordinator of --place and of the map's places (default ${COORDINATOR_ENV}, "
                         "else 127.0.0.1:20408)")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="write junit.xml, summary.md, environment.json and the reports of this run into DIR")
    group.addoption("--models", nargs="+", default=None, metavar="DIR",
                    help="evaluate these model directories (or folders of them, such as a zoo) on the board")
    group.addoption("--dtype", default="int8", choices=("fp32", "w8", "int8"),
                    help="number format the models are exported in (default int8)")
    group.addoption("--limit", type=int, default=None, metavar="N", help="evaluate the first N test samples only")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line("markers", "emulator: needs qemu-system-arm")
    config.addinivalue_line("markers", "hardware: runs on a real board")
    try:
        board = get_board(config.getoption("board"))
        path = config.getoption("hardware_map")
        place = config.getoption("place")
        provider = provider_for(Path(path).resolve() if path else None, place=place or os.environ.get(PLACE_ENV),
                                coordinator=config.getoption("coordinator") or os.environ.get(COORDINATOR_ENV),
                                place_source="--place" if place else f"${PLACE_ENV}")
        plan = plan_device(board, require_hardware=config.getoption("require_hardware"), provider=provider)
        _check_workers(config, plan)
    except (CatalogError, NoHardwareAttached, HardwareMapError, HardwareError) as exc:
        raise pytest.UsageError(str(exc)) from None
    report_dir = config.getoption("report_dir")
    if report_dir:
        report_dir = Path(report_dir).resolve()
        report_dir.mkdir(parents=True, exist_ok=True)
        if not config.option.xmlpath:
            config.option.xmlpath = str(report_dir / "junit.xml")
    state = config.stash[_STATE] = _Session(plan, report_dir)
    if report_dir and _worker_id(config) is None:
        from .evaluate import RunError, RunFolder
        try:   # this session is the folder's one writer until it ends (xdist workers report to it)
            state.folder = RunFolder(report_dir, plan.board.name)
        except RunError as exc:
            raise pytest.UsageError(str(exc)) from None
    config.pluginmanager.register(_Recorder(state.results), "harness-recorder")


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, None)
    if state is not None and state.folder is not None:
        state.folder.close()
        state.folder = None


def _worker_id(config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


def _check_workers(config, plan: Plan) -> None:
    """Under pytest-xdist every worker leases its own board: no more workers than boards."""
    if plan.where != HARDWARE or _worker_id(config) is not None:
        return
    tx = config.getoption("tx", None) or []
    if plan.places:
        if config.getoption("dist", "no") != "no" and len(tx) > len(plan.places):
            raise NoHardwareAttached(f"-n {len(tx)}: only {len(plan.places)} labgrid place(s) hold a {plan.board.name} "
                                     f"({', '.join(p.place for p in plan.places)}); each worker needs its own: "
                                     f"use -n {len(plan.places)}")
        return
    if config.getoption("dist", "no") != "no" and len(tx) > len(plan.candidates):
        raise NoHardwareAttached(
            f"-n {len(tx)}: only {len(plan.candidates)} {plan.board.name} board(s) attached "
            f"({', '.join(a.probe_serial for a in plan.candidates)}); each worker needs its own: use -n {len(plan.candidates)}")


def pytest_report_header(config):
    plan = config.stash[_STATE].plan
    lines = [f"board: {plan.reason}"]
    if plan.where == HARDWARE and len(plan.candidates) > 1:
        lines.append("boards: " + ", ".join(a.describe() for a in plan.candidates)
                     + "; each run or xdist worker leases one")
    return lines


def pytest_collection_modifyitems(config, items):
    mark = pytest.mark.hardware if config.stash[_STATE].plan.where == HARDWARE else pytest.mark.emulator
    for item in items:
        if {"device", "evaluation"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(mark)


def pytest_generate_tests(metafunc):
    """Model scenarios run once per model directory given with --models."""
    if "model_dir" not in metafunc.fixturenames:
        return
    from .evaluate import RunError, find_model_dirs
    given = metafunc.config.getoption("models")
    if not given:
        metafunc.parametrize("model_dir", [pytest.param(None, marks=pytest.mark.skip(
            reason="no --models given: pass model directories or a zoo to evaluate them on the board"))], ids=["none"])
        return
    try:
        dirs = find_model_dirs([Path(g) for g in given])
    except RunError as exc:
        raise pytest.UsageError(str(exc)) from None
    metafunc.parametrize("model_dir", dirs, ids=[d.name for d in dirs])


# ------------------------------------------------------------------ fixtures --

@pytest.fixture(scope="session")
def board(pytestconfig):
    """The catalog entry chosen with --board."""
    return pytestconfig.stash[_STATE].plan.board


@pytest.fixture(scope="session")
def board_plan(pytestconfig):
    """The plan with this session's own physical board leased until the session ends. Worker gwN
    tries board N first, so xdist workers spread over the boards without waiting."""
    state = pytestconfig.stash[_STATE]
    wid = _worker_id(pytestconfig) or ""
    terminal = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    with _lab_errors(state.plan), leased(state.plan, prefer=int(wid[2:]) if wid[2:].isdigit() else 0,
                               on_wait=terminal.write_line if terminal is not None else None) as plan:
        state.plan = plan
        yield plan


@contextlib.contextmanager
def _lab_errors(plan: Plan):
    """A labgrid place that cannot be had fails its scenarios with one line, not a traceback."""
    if not plan.places:
        yield
        return
    from .targets.labgrid import LabError
    try:
        yield
    except LabError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def _session_device(pytestconfig, board_plan):
    """The link-only image running on the board or its twin: built, started and verified once per session."""
    state = pytestconfig.stash[_STATE]
    with open_device(board_plan, log_dir=_log_dir(pytestconfig)) as dev:
        state.devices[f"scenarios@{_worker_id(pytestconfig)}" if _worker_id(pytestconfig) else "scenarios"] = dev.record()
        yield dev


@pytest.fixture
def device(_session_device):
    """A fresh session (new nonce) with the device: whatever an earlier test left on the line is stale."""
    _session_device.handshake()
    return _session_device


@pytest.fixture(scope="session")
def evaluation(pytestconfig, board_plan, tmp_path_factory):
    """The run that model scenarios evaluate into: --report-dir, or a temporary directory."""
    from .evaluate import Run
    state = pytestconfig.stash[_STATE]
    with Run(board_plan, [Path(m) for m in pytestconfig.getoption("models")], dtype=pytestconfig.getoption("dtype"),
             limit=pytestconfig.getoption("limit"), folder=state.folder,
             run_dir=None if state.folder else tmp_path_factory.mktemp("run"), progress=False,
             log=lambda *_: None) as run:
        state.run = run
        yield run


def _log_dir(config):
    """The emulator's log goes to --report-dir; under xdist, one folder per worker."""
    d = config.stash[_STATE].report_dir
    wid = _worker_id(config)
    return d / wid if d is not None and wid is not None else d


# ------------------------------------------------------------------ recording --

@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Each result row of a test on the board names the physical board (probe serial, or qemu:<machine>)."""
    report = yield
    state = item.config.stash.get(_STATE, None)
    if state is not None and {"device", "evaluation", "board_plan"} & set(getattr(item, "fixturenames", ())):
        if "physical_board" not in dict(report.user_properties):
            report.user_properties.append(("physical_board", state.plan.physical_board))
    return report


class _Recorder:
    """Keeps each test's outcome: the call phase, or a setup/teardown that did not pass."""

    def __init__(self, results: list):
        self.results = results

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            board = dict(getattr(report, "user_properties", ()) or ()).get("physical_board", "")
            self.results.append(ScenarioResult(report.nodeid, report.when, report.outcome, report.duration, board))


@pytest.hookimpl(trylast=True)   # after pytest's own junit.xml is written, so the report links it
def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(_STATE, None)
    if not state:
        return
    if _worker_id(session.config) is not None:   # an xdist worker: the controller writes the run folder
        session.config.workeroutput["harness"] = {k: d.to_json() for k, d in state.devices.items()}
        return
    if state.folder is not None:
        _write_run_folder(state, exitstatus)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: keep the devices each worker ran on, for the run folder."""
    state = node.config.stash.get(_STATE, None)
    out = getattr(node, "workeroutput", {}) or {}
    if state is not None and "harness" in out:
        for key, d in out["harness"].items():
            state.devices[key] = DeviceRecord.from_json(d, f"worker {key}")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_STATE, None)
    if not state or not (state.devices or state.run):
        return
    from .report.markdown import device_line
    terminalreporter.write_sep("-", "harness")
    terminalreporter.write_line(f"board: {state.plan.reason}")
    for key, d in sorted(state.devices.items()):
        terminalreporter.write_line(f"{key}: {device_line(d)}")
    if state.report_dir:
        terminalreporter.write_line(f"report: {state.report_dir / 'summary.md'}")
    else:
        terminalreporter.write_line("report: none written (pass --report-dir DIR to keep one)")


def _write_run_folder(state: _Session, exitstatus) -> None:
    """The scenarios' devices and outcomes into the run folder, then the report."""
    from .report import ReportError, write_report
    folder = state.folder
    for key, d in state.devices.items():
        folder.record_device(key, d)
    folder.record_scenarios(state.results, int(exitstatus))
    try:
        write_report(folder.path)
    except ReportError as exc:
        print(f"\nharness: no report written: {exc}")
