"""pytest plugin: `--board`, `--require-hardware`, `--hardware-map`, `--report-dir`, and the `device` fixture.

Scenarios ask for `device` (a handshaken link to the board or its twin) and
never know how it was made: board choice, building and starting live here.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import pytest

from . import firmware
from .boards import CatalogError, HardwareMapError, HardwareMapProvider, get_board
from .boards.detect import HARDWARE_MAP_ENV
from .environment import git_commit, toolchain
from .link import Link
from .session import Device, check_hello
from .targets.select import NoHardwareAttached, lease_plan, open_target, plan_target

DEFAULT_BOARD = "qemu-m4"
_STATE = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("harness", "board under test")
    group.addoption("--board", default=DEFAULT_BOARD, metavar="NAME",
                    help=f"catalog board to run scenarios on (default {DEFAULT_BOARD}); "
                         "a real one when attached, else its emulated twin")
    group.addoption("--require-hardware", action="store_true", default=False,
                    help="fail instead of falling back to the emulated twin when no board is attached")
    group.addoption("--hardware-map", default=None, metavar="FILE",
                    help="the boards of this YAML hardware map instead of USB detection (docs/hardware.md); "
                         "each run, or pytest-xdist worker, leases one of them")
    group.addoption("--report-dir", default=None, metavar="DIR",
                    help="write junit.xml, summary.md and environment.json of this run into DIR")
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
        provider = _hardware_map_provider(config)
        plan = plan_target(board, require_hardware=config.getoption("require_hardware"), provider=provider)
        _check_workers(config, plan)
    except (CatalogError, NoHardwareAttached, HardwareMapError) as exc:
        raise pytest.UsageError(str(exc)) from None
    report_dir = config.getoption("report_dir")
    if report_dir:
        report_dir = Path(report_dir).resolve()
        report_dir.mkdir(parents=True, exist_ok=True)
        if not config.option.xmlpath:
            config.option.xmlpath = str(report_dir / "junit.xml")
    config.stash[_STATE] = {"plan": plan, "report_dir": report_dir, "results": [], "hello": None,
                            "image": None, "started": _dt.datetime.now(_dt.timezone.utc),
                            "lease": None, "workers": {}}
    config.pluginmanager.register(_Recorder(config.stash[_STATE]["results"]), "harness-recorder")


def _hardware_map_provider(config):
    """--hardware-map FILE; also exported as $HARNESS_HARDWARE_MAP so harness code that plans
    its own board from a scenario (the evaluation's runs) and xdist workers see the same boards."""
    path = config.getoption("hardware_map")
    if not path:
        return None
    path = str(Path(path).resolve())
    provider = HardwareMapProvider(path)
    config.add_cleanup(_restore_env(HARDWARE_MAP_ENV))
    os.environ[HARDWARE_MAP_ENV] = path
    return provider


def _restore_env(name):
    old = os.environ.get(name)

    def restore():
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
    return restore


def _worker_id(config) -> str | None:
    return getattr(config, "workerinput", {}).get("workerid")


def _check_workers(config, plan) -> None:
    """Under pytest-xdist every worker leases its own board: no more workers than boards."""
    if plan.kind != "hardware" or _worker_id(config) is not None:
        return
    tx = config.getoption("tx", None) or []
    if config.getoption("dist", "no") != "no" and len(tx) > len(plan.candidates):
        raise NoHardwareAttached(
            f"-n {len(tx)}: only {len(plan.candidates)} {plan.board.name} board(s) attached "
            f"({', '.join(a.probe_serial for a in plan.candidates)}); each worker needs its own: use -n {len(plan.candidates)}")


def _lease_board(config) -> None:
    """This session's (or xdist worker's) own physical board, held until the session ends.
    Worker gwN tries board N first, so workers spread over the boards without waiting."""
    state = config.stash[_STATE]
    if state["lease"] is not None or state["plan"].kind != "hardware":
        return
    wid = _worker_id(config) or ""
    prefer = int(wid[2:]) if wid.startswith("gw") and wid[2:].isdigit() else 0
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    on_wait = (lambda msg: terminal.write_line(msg)) if terminal is not None else None
    state["plan"], state["lease"] = lease_plan(state["plan"], prefer=prefer, on_wait=on_wait)


def _physical_board(state) -> str:
    return state["plan"].physical_board


def pytest_unconfigure(config):
    state = config.stash.get(_STATE, None)
    if state and state.get("lease") is not None:
        state["lease"].release()
        state["lease"] = None


def pytest_report_header(config):
    plan = config.stash[_STATE]["plan"]
    lines = [f"board: {plan.reason}"]
    if plan.kind == "hardware" and len(plan.candidates) > 1:
        lines.append("boards: " + ", ".join(a.describe() for a in plan.candidates)
                     + "; each run or xdist worker leases one")
    return lines


def pytest_collection_modifyitems(config, items):
    kind = config.stash[_STATE]["plan"].kind
    mark = pytest.mark.hardware if kind == "hardware" else pytest.mark.emulator
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


@pytest.fixture(scope="session")
def evaluation(pytestconfig, tmp_path_factory):
    """The run that model scenarios evaluate into: --report-dir, or a temporary directory."""
    from .evaluate import Run
    state = pytestconfig.stash[_STATE]
    run_dir = state["report_dir"] or tmp_path_factory.mktemp("run")
    with Run(state["plan"].board.name, [Path(m) for m in pytestconfig.getoption("models")],
             dtype=pytestconfig.getoption("dtype"), limit=pytestconfig.getoption("limit"), run_dir=run_dir,
             require_hardware=pytestconfig.getoption("require_hardware"), progress=False, log=lambda *_: None) as run:
        state["run"] = run
        yield run


@pytest.fixture(scope="session")
def board(pytestconfig):
    """The catalog entry chosen with --board."""
    return pytestconfig.stash[_STATE]["plan"].board


@pytest.fixture(scope="session")
def firmware_image(pytestconfig, board):
    image = firmware.build(board)
    pytestconfig.stash[_STATE]["image"] = image
    return image


@pytest.fixture(scope="session")
def target(pytestconfig, firmware_image):
    """The running board or emulator; started once per session, always stopped."""
    state = pytestconfig.stash[_STATE]
    _lease_board(pytestconfig)
    t = open_target(state["plan"], firmware_image.elf, firmware_image.bin, log_dir=_log_dir(pytestconfig),
                    expected_hash=firmware_image.model_hash)
    try:
        t.start()
        yield t
    finally:
        t.stop()


@pytest.fixture
def device(pytestconfig, board, firmware_image, target) -> Device:
    """A fresh session (new nonce) with the device: whatever an earlier test left on the line is stale."""
    link = Link(target.port)
    hello = link.handshake()
    check_hello(board, hello)
    state = pytestconfig.stash[_STATE]
    state["hello"] = hello
    return Device(state["plan"], firmware_image, target, link, hello)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Each result row of a test on the board names the physical board (probe serial, or qemu:<machine>)."""
    report = yield
    state = item.config.stash.get(_STATE, None)
    if state is not None and {"device", "evaluation", "target"} & set(getattr(item, "fixturenames", ())):
        if "physical_board" not in dict(report.user_properties):
            report.user_properties.append(("physical_board", _physical_board(state)))
    return report


class _Recorder:
    """Keeps each test's outcome for summary.md: the call phase, or a setup/teardown that did not pass."""

    def __init__(self, results: list):
        self.results = results

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            board = dict(getattr(report, "user_properties", ()) or ()).get("physical_board", "")
            self.results.append((report.nodeid, report.when, report.outcome, report.duration, board))


def _hello_record(hello) -> dict | None:
    return None if hello is None else {
        "fw_version": hello.fw_version, "protocol_version": hello.protocol_version, "board": hello.board,
        "core": hello.core, "clock_hz": hello.clock_hz, "counter_kind": hello.counter_kind,
        "max_payload": hello.max_payload, "model_hash": hello.model_hash.hex()}


def _image_record(image) -> dict | None:
    return None if image is None else {
        "elf": str(image.elf), "bin": str(image.bin), "bin_sha256": firmware.file_sha256(image.bin),
        "text": image.sections.text, "data": image.sections.data, "bss": image.sections.bss,
        "usage": image.usage_lines()}


def _worker_record(state) -> dict:
    plan = state["plan"]
    return {"kind": plan.kind, "reason": plan.reason, "physical_board": _physical_board(state),
            "device": _hello_record(state["hello"]), "firmware": _image_record(state["image"])}


def _log_dir(config):
    """The emulator's log goes to --report-dir; under xdist, one folder per worker."""
    d = config.stash[_STATE]["report_dir"]
    wid = _worker_id(config)
    return d / wid if d is not None and wid is not None else d


@pytest.hookimpl(trylast=True)   # after pytest's own junit.xml is written, so the report links it
def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(_STATE, None)
    if not state:
        return
    if _worker_id(session.config) is not None:   # an xdist worker: the controller writes the report
        session.config.workeroutput["harness"] = _worker_record(state)
        return
    if not state["report_dir"]:
        return
    _write_report(state, exitstatus)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """xdist controller: keep what each worker ran on, for the merged report."""
    state = node.config.stash.get(_STATE, None)
    out = getattr(node, "workeroutput", {}) or {}
    if state is not None and "harness" in out:
        state["workers"][out.get("workerid", node.gateway.id)] = out["harness"]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_STATE, None)
    if state and state["hello"] is None and state["workers"]:
        terminalreporter.write_sep("-", "harness")
        for wid, w in sorted(state["workers"].items()):
            terminalreporter.write_line(f"{wid}: {w['reason']}")
        if state["report_dir"]:
            terminalreporter.write_line(f"report: {state['report_dir'] / 'summary.md'}")
        return
    if not state or state["hello"] is None:
        return
    h, plan = state["hello"], state["plan"]
    terminalreporter.write_sep("-", "harness")
    terminalreporter.write_line(f"board: {plan.reason}")
    terminalreporter.write_line(f"device: firmware {h.fw_version} on {h.core} at {h.clock_hz} Hz, counter {h.counter_kind}")
    if state["report_dir"]:
        terminalreporter.write_line(f"report: {state['report_dir'] / 'summary.md'}")
    else:
        terminalreporter.write_line("report: none written (pass --report-dir DIR to keep one)")


def _write_report(state, exitstatus) -> None:
    d: Path = state["report_dir"]
    run = state.get("run")
    if run is not None:
        # Model scenarios ran: the evaluation owns summary.md and environment.json;
        # the scenario outcomes go beside them.
        from .report import ReportError, write_report
        try:
            write_report(run.dir)
        except ReportError as exc:
            print(f"\nharness: no report written: {exc}")
        _write_scenarios(state, d / "scenarios.md")
        return
    plan, hello, image = state["plan"], state["hello"], state["image"]
    workers = state["workers"]
    device = _hello_record(hello) or next((w["device"] for w in workers.values() if w.get("device")), None)
    physical = sorted({r[4] for r in state["results"] if r[4]} | {w["physical_board"] for w in workers.values()})
    env = {
        "started": state["started"].isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "board": plan.board.name,
        "target": {"kind": plan.kind, "runner": plan.board.twin_label if plan.kind == "emulated" else None,
                   "reason": plan.reason},
        "physical_boards": physical or ([_physical_board(state)] if hello is not None else []),
        "workers": workers or None,
        "toolchain": toolchain(),
        "firmware": _image_record(image) or next((w["firmware"] for w in workers.values() if w.get("firmware")), None),
        "device": device,
        "exit_status": int(exitstatus),
    }
    (d / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
    lines = [f"# Scenario run on {plan.board.name}", ""]
    lines += [f"- Ran on: **{'real board' if plan.kind == 'hardware' else 'emulated twin, ' + plan.board.twin_label}** ({plan.reason})"]
    if env["physical_boards"]:
        lines += [f"- Physical board(s): {', '.join(f'`{p}`' for p in env['physical_boards'])}"]
    if device is not None:
        unit = "instructions (QEMU -icount, not time)" if device["counter_kind"] == "icount-instructions" else "core cycles"
        lines += [f"- Device: firmware {device['fw_version']}, protocol {device['protocol_version']}, {device['core']}, "
                  f"clock {device['clock_hz']} Hz, counter `{device['counter_kind']}` ({unit})"]
    if env["firmware"] is not None:
        lines += [f"- Image: {'; '.join(env['firmware']['usage'])}"]
    lines += [f"- Commit: {env['git_commit'] or 'unknown'}", ""]
    (d / "summary.md").write_text("\n".join(lines) + "\n" + _scenario_table(state))


def _scenario_table(state) -> str:
    lines = ["| scenario | phase | outcome | seconds | physical board |", "|---|---|---|---|---|"]
    for nodeid, when, outcome, duration, board in state["results"]:
        lines.append(f"| `{nodeid}` | {when} | {outcome} | {duration:.3f} | {board} |")
    passed = sum(1 for r in state["results"] if r[1] == "call" and r[2] == "passed")
    failed = sum(1 for r in state["results"] if r[2] == "failed")
    lines += ["", f"{passed} passed, {failed} failed", ""]
    return "\n".join(lines)


def _write_scenarios(state, path: Path) -> None:
    plan = state["plan"]
    path.write_text(f"# Scenarios on {plan.board.name}\n\n- Ran on: {plan.reason}\n\n" + _scenario_table(state))
