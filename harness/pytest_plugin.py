"""pytest plugin: `--board`, `--require-hardware`, `--report-dir`, and the `device` fixture.

Scenarios ask for `device` (a handshaken link to the board or its twin) and
never know how it was made: board choice, building and starting live here.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import pytest

from . import firmware
from .boards import CatalogError, get_board
from .environment import git_commit, toolchain
from .link import Link
from .session import Device, check_hello
from .targets.select import NoHardwareAttached, open_target, plan_target

DEFAULT_BOARD = "qemu-m4"
_STATE = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("harness", "board under test")
    group.addoption("--board", default=DEFAULT_BOARD, metavar="NAME",
                    help=f"catalog board to run scenarios on (default {DEFAULT_BOARD}); "
                         "a real one when attached, else its emulated twin")
    group.addoption("--require-hardware", action="store_true", default=False,
                    help="fail instead of falling back to the emulated twin when no board is attached")
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
        plan = plan_target(board, require_hardware=config.getoption("require_hardware"))
    except (CatalogError, NoHardwareAttached) as exc:
        raise pytest.UsageError(str(exc)) from None
    report_dir = config.getoption("report_dir")
    if report_dir:
        report_dir = Path(report_dir).resolve()
        report_dir.mkdir(parents=True, exist_ok=True)
        if not config.option.xmlpath:
            config.option.xmlpath = str(report_dir / "junit.xml")
    config.stash[_STATE] = {"plan": plan, "report_dir": report_dir, "results": [], "hello": None,
                            "image": None, "started": _dt.datetime.now(_dt.timezone.utc)}
    config.pluginmanager.register(_Recorder(config.stash[_STATE]["results"]), "harness-recorder")


def pytest_report_header(config):
    plan = config.stash[_STATE]["plan"]
    return [f"board: {plan.reason}"]


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
    t = open_target(state["plan"], firmware_image.elf, firmware_image.bin, log_dir=state["report_dir"])
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


class _Recorder:
    """Keeps each test's outcome for summary.md: the call phase, or a setup/teardown that did not pass."""

    def __init__(self, results: list):
        self.results = results

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            self.results.append((report.nodeid, report.when, report.outcome, report.duration))


def pytest_sessionfinish(session, exitstatus):
    state = session.config.stash.get(_STATE, None)
    if not state or not state["report_dir"]:
        return
    _write_report(state, exitstatus)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = config.stash.get(_STATE, None)
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
        try:
            from .report import write_report
        except ImportError:
            pass
        else:
            write_report(run.dir)
        _write_scenarios(state, d / "scenarios.md")
        return
    plan, hello, image = state["plan"], state["hello"], state["image"]
    env = {
        "started": state["started"].isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "board": plan.board.name,
        "target": {"kind": plan.kind, "runner": plan.board.twin_label if plan.kind == "emulated" else None,
                   "reason": plan.reason},
        "toolchain": toolchain(),
        "firmware": None if image is None else {
            "elf": str(image.elf), "bin": str(image.bin), "bin_sha256": firmware.file_sha256(image.bin),
            "text": image.sections.text, "data": image.sections.data, "bss": image.sections.bss},
        "device": None if hello is None else {
            "fw_version": hello.fw_version, "protocol_version": hello.protocol_version, "board": hello.board,
            "core": hello.core, "clock_hz": hello.clock_hz, "counter_kind": hello.counter_kind,
            "max_payload": hello.max_payload, "model_hash": hello.model_hash.hex()},
        "exit_status": int(exitstatus),
    }
    (d / "environment.json").write_text(json.dumps(env, indent=2) + "\n")
    lines = [f"# Scenario run on {plan.board.name}", ""]
    lines += [f"- Ran on: **{'real board' if plan.kind == 'hardware' else 'emulated twin, ' + plan.board.twin_label}** ({plan.reason})"]
    if hello is not None:
        unit = "instructions (QEMU -icount, not time)" if hello.counter_kind == "icount-instructions" else "core cycles"
        lines += [f"- Device: firmware {hello.fw_version}, protocol {hello.protocol_version}, {hello.core}, "
                  f"clock {hello.clock_hz} Hz, counter `{hello.counter_kind}` ({unit})"]
    if image is not None:
        lines += [f"- Image: {'; '.join(image.usage_lines())}"]
    lines += [f"- Commit: {env['git_commit'] or 'unknown'}", ""]
    (d / "summary.md").write_text("\n".join(lines) + "\n" + _scenario_table(state))


def _scenario_table(state) -> str:
    lines = ["| scenario | phase | outcome | seconds |", "|---|---|---|---|"]
    for nodeid, when, outcome, duration in state["results"]:
        lines.append(f"| `{nodeid}` | {when} | {outcome} | {duration:.3f} |")
    passed = sum(1 for r in state["results"] if r[1] == "call" and r[2] == "passed")
    failed = sum(1 for r in state["results"] if r[2] == "failed")
    lines += ["", f"{passed} passed, {failed} failed", ""]
    return "\n".join(lines)


def _write_scenarios(state, path: Path) -> None:
    plan = state["plan"]
    path.write_text(f"# Scenarios on {plan.board.name}\n\n- Ran on: {plan.reason}\n\n" + _scenario_table(state))
