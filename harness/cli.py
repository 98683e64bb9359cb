"""`python -m harness <verb>`: thin command-line entry to each stage."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import __version__


def _user_errors() -> tuple[type[BaseException], ...]:
    """What a user's mistake or a device's refusal raises: one line, exit 2. None of these imports torch,
    so a bad argument costs no more than a successful `compare`."""
    from .boards import CatalogError, HardwareMapError
    from .device import NoHardwareAttached
    from .firmware import BuildError
    from .link import LinkError
    from .targets import HelloMismatch, QemuError
    from .targets.fvp import FvpError
    from .targets.hardware import HardwareError
    errors = (CatalogError, BuildError, LinkError, HelloMismatch, NoHardwareAttached, QemuError, FvpError,
              FileNotFoundError, HardwareMapError, HardwareError)
    # RunError, ExportError, CardError, RecordError and the data and training layers' bad arguments are
    # ValueErrors with one clear line.
    return errors + (ValueError,)


def _provider(args):
    """The boards of --hardware-map (default $HARNESS_HARDWARE_MAP), else USB detection; with --place
    (default $LG_PLACE), that labgrid place on --coordinator (default $LG_COORDINATOR)."""
    import os
    from .boards.hwmap import HARDWARE_MAP_ENV, provider_for
    from .boards.places import COORDINATOR_ENV, PLACE_ENV
    place = getattr(args, "place", None)
    return provider_for(getattr(args, "hardware_map", None) or os.environ.get(HARDWARE_MAP_ENV),
                        place=place or os.environ.get(PLACE_ENV),
                        coordinator=getattr(args, "coordinator", None) or os.environ.get(COORDINATOR_ENV),
                        place_source="--place" if place else f"${PLACE_ENV}")


def _plan(args):
    from .boards import get_board
    from .device import plan_device
    return plan_device(get_board(args.board), require_hardware=args.require_hardware, provider=_provider(args))


def _debug_logging(args) -> None:
    if getattr(args, "verbose", False):
        import logging
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(name)s: %(message)s", stream=sys.stderr)
        logging.getLogger("harness").setLevel(logging.DEBUG)


def cmd_boards(args) -> int:
    from .boards import boards, read_map, write_map
    from .boards.detect import UsbProvider, scan
    from .device import where_it_runs
    _debug_logging(args)
    if args.write_map:
        if args.hardware_map:
            raise ValueError("--write-map writes what USB detection finds; leave out --hardware-map")
        found = UsbProvider().scan()
        if not found.boards and not found.unidentified:
            print(f"No board is attached to this machine; {args.write_map} not written.")
            return 1
        target = Path(args.write_map)
        from .boards.hwmap import read_places
        keep = read_map(target) if target.is_file() else []
        places = read_places(target) if target.is_file() else []
        entries = write_map(target, found, keep=keep, places=places)
        print(f"Wrote {len(entries)} board(s) to {target}" +
              (f" and {len(found.unidentified)} unidentified probe(s) as comments to complete" if found.unidentified else ""))
        for e in entries:
            print(f"  {e.board}: probe {e.probe_serial}, port {e.port}, {e.flash_method}")
        return 0
    provider = _provider(args)
    found = scan(provider)
    attached = list(found.boards)
    by = " and ".join(found.sources)
    if attached:
        print(f"{len(attached)} board(s) attached ({by}):")
        for a in attached:
            print(f"  {a.describe()}" + (f"  # {a.notes}" if a.notes else ""))
    else:
        print(f"No board is attached to this machine (looked with {by}).")
    for line in found.missing:
        print(f"  in the map but not present: {line}")
    for u in found.unidentified:
        print(f"  unidentified: {u.describe()}; name it in a hardware map (--write-map FILE, then edit)")
    places = tuple(getattr(provider, "places", ()) or ())
    if places:
        from .targets.labgrid import describe_places
        print(f"{len(places)} labgrid place(s):")
        for line in describe_places(places):
            print(f"  {line}")
    print()
    rows = [("board", "core", "clock", "flash", "RAM", "runs now on")]
    for b in boards().values():
        rows.append((b.name, b.core, f"{b.clock_hz / 1e6:g} MHz", f"{b.flash.size // 1024} KiB",
                     f"{b.ram.size // 1024} KiB", where_it_runs(b, attached, places)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_build(args) -> int:
    from . import firmware
    from .boards import boards, get_board
    names = list(boards()) if args.board == ["all"] else args.board
    for name in names:
        image = firmware.build(get_board(name))
        print(f"{name}:")
        print(f"  ELF  {image.elf}")
        print(f"  BIN  {image.bin}")
        for line in image.usage_lines():
            print(f"  {line}")
    return 0


def cmd_hello(args) -> int:
    from .device import open_device
    from .records import HARDWARE
    _debug_logging(args)
    with open_device(_plan(args)) as dev:
        h = dev.hello
        print(dev.plan.reason)
        if dev.plan.where == HARDWARE:
            t = dev.target
            print(f"  {t.info.detail}; {t.flashes} flash(es), image verified by its handshake")
        elif dev.plan.fvp:
            print(f"  {dev.target.info.detail}")
        print(f"  firmware {h.fw_version}, protocol {h.protocol_version}, board {h.board}, core {h.core}")
        print(f"  clock {h.clock_hz} Hz, counter {h.counter_kind}, max payload {h.max_payload} B")
        print(f"  capabilities {h.capabilities!r}, input/output buffers {h.input_capacity}/{h.output_capacity} B")
        print(f"  model hash {h.model_hash.hex()}")
        st = dev.link.status()
        print(f"  stack peak {st.stack_peak} of {st.stack_size} B, counter resolution {st.counter_resolution}")
    return 0


def cmd_train(args) -> int:
    from . import train as tr
    card = tr.train(args.task, args.method, args.out, cell=args.cell, data=args.data, epochs=args.epochs,
                    hidden=args.hidden, seed=args.seed, init=args.init, lr=args.lr, teacher=args.teacher,
                    overrides=tr.parse_settings(args.set))
    size, acc, data = card["size"], card["accuracy"], card["data"]["test"]
    print(f"{args.out}: {card['task']} {card['method']} {card['cell']}, {size['params']} parameters "
          f"({size['compression_vs_dense']:.1f}x smaller than dense), {size['macs_per_sequence']} MACs per sequence")
    print(f"  data {data['name']}{' (synthetic)' if data['synthetic'] else ''}: "
          f"validation {100 * acc['validation']:.1f}%, test {100 * acc['test']:.1f}%, "
          f"{card['training']['seconds']:.0f} s")
    return 0


def cmd_zoo(args) -> int:
    from . import zoo
    from .choices import METHODS
    data = {t: v for t, v in (("kws", args.kws_data), ("har", args.har_data))}
    init = {t: d for t, d in (("kws", args.kws_init), ("har", args.har_init)) if d}
    table = zoo.build_zoo(args.out, tasks=args.task or ("kws", "har"), methods=args.method or METHODS,
                          cells=args.cell or ("lstm",), data=data, epochs=args.epochs, init=init,
                          seeds=tuple(range(args.seeds)) if args.seeds else (args.seed,))
    print(zoo.to_markdown(table))
    print(f"table: {args.out}/zoo.md, figure: {args.out}/zoo.png")
    return 0


def cmd_run(args) -> int:
    from .evaluate import run
    _debug_logging(args)
    run_dir = run(_plan(args), args.models, dtype=args.dtype, limit=args.limit, run_dir=args.report_dir,
                  resume=args.resume, depth=args.depth, timeout=args.timeout, retries=args.retries,
                  max_recoveries=args.max_recoveries, jobs=args.jobs, data=args.data)
    from .report import write_report
    index = write_report(run_dir)
    print((run_dir / "summary.md").read_text())
    print(f"report: {index}")
    return 0


def cmd_compare(args) -> int:
    from .report.compare import main as compare_main
    return compare_main(args.base, args.new, args.thresholds)


def cmd_export(args) -> int:
    from .export import default_export_dir, export_model_dir
    out = args.out or default_export_dir(args.model_dir, args.dtype)
    e = export_model_dir(args.model_dir, args.dtype, out, calibration=args.calibration, evaluation=args.evaluate,
                         data=args.data)
    m = e.manifest
    print(f"{out}: {m['source']['task']} {m['source']['method']} {m['source']['cell']} as {args.dtype}, "
          f"model hash {e.model_hash[:12]}")
    print(f"  weights {m['weight_bytes']:,} B, arena {m['arena_bytes']:,} B, "
          f"input {m['input']['bytes']:,} B ({m['input']['dtype']}), output {m['output']['bytes']} B ({m['output']['dtype']})")
    acc = m.get("host_accuracy")
    if acc:
        on = m.get("evaluation_data", {}).get("name", "")
        print(f"  host accuracy on {acc['samples']} test samples{' of ' + on if on else ''}: float {100 * acc['float']:.2f}%, "
              f"{args.dtype} {100 * acc['exported']:.2f}% (cost {100 * acc['cost']:+.2f} points, "
              f"agreement {100 * acc['agreement']:.1f}%)")
    return 0


def _hardware_map_option(parser) -> None:
    parser.add_argument("--hardware-map", type=Path, metavar="FILE",
                        help="the boards of this YAML hardware map instead of USB detection (docs/hardware.md; "
                             "default $HARNESS_HARDWARE_MAP)")
    parser.add_argument("--place", metavar="NAME",
                        help="the board of this labgrid place instead (docs/lab.md; default $LG_PLACE)")
    parser.add_argument("--coordinator", metavar="HOST:PORT",
                        help="the labgrid coordinator of --place and of the map's places (default $LG_COORDINATOR, "
                             "else 127.0.0.1:20408)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness",
                                description="Evaluate compressed tiny neural networks on Cortex-M boards or their emulated twins.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True

    s = sub.add_parser("boards", help="list catalog boards, attached boards, and what each would run on now")
    _hardware_map_option(s)
    s.add_argument("--write-map", type=Path, metavar="FILE",
                   help="write a hardware map of the boards attached now (notes of boards already in FILE are kept)")
    s.add_argument("-v", "--verbose", action="store_true", help="log what detection asked and found")
    s.set_defaults(func=cmd_boards)

    s = sub.add_parser("build", help="build the firmware image for one or more boards")
    s.add_argument("--board", action="append", required=True, metavar="B",
                   help="catalog board name (repeatable), or 'all'")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser("hello", help="build, start the board (or its twin), handshake and print what the device says")
    s.add_argument("--board", required=True, metavar="B")
    s.add_argument("--require-hardware", action="store_true", help="fail instead of falling back to emulation")
    _hardware_map_option(s)
    s.add_argument("-v", "--verbose", action="store_true", help="log detection, flashing and reconnection")
    s.set_defaults(func=cmd_hello)

    from .choices import CELLS, METHODS, TASKS
    s = sub.add_parser("train", help="train one model and write model.pt + model.json (the model card)")
    s.add_argument("--task", required=True, choices=TASKS)
    s.add_argument("--method", required=True, choices=METHODS)
    s.add_argument("--cell", default="lstm", choices=CELLS)
    s.add_argument("--out", required=True, type=Path, metavar="DIR")
    s.add_argument("--data", default="synthetic",
                   help="'synthetic' (default, generated here) or a Speech Commands / UCI HAR / HAPT directory")
    s.add_argument("--epochs", type=int, help="override the recipe's epoch count")
    s.add_argument("--hidden", type=int, help="override the recipe's hidden size")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--init", type=Path, metavar="MODEL_DIR", help="fine-tune this trained model instead of starting afresh")
    s.add_argument("--lr", type=float, help="override the recipe's learning rate (lower it for fine-tuning)")
    s.add_argument("--teacher", type=Path, metavar="MODEL_DIR",
                   help="the trained dense model a compressed recipe starts from or distils from "
                        "(default: trained once and kept in the cache)")
    s.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="change one recipe setting, e.g. distill=0 or augment=True (repeatable; docs/training.md)")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("zoo", help="train the comparison matrix (methods x tasks), reusing models already trained")
    s.add_argument("--out", required=True, type=Path, metavar="DIR")
    s.add_argument("--task", action="append", choices=TASKS, help="repeatable; default both")
    s.add_argument("--method", action="append", choices=METHODS, help="repeatable; default all")
    s.add_argument("--cell", action="append", choices=CELLS, help="repeatable; default lstm")
    s.add_argument("--kws-data", default="synthetic", metavar="SRC")
    s.add_argument("--har-data", default="synthetic", metavar="SRC")
    s.add_argument("--kws-init", type=Path, metavar="ZOO", help="fine-tune the KWS models of this zoo (e.g. on real speakers)")
    s.add_argument("--har-init", type=Path, metavar="ZOO", help="fine-tune the HAR models of this zoo")
    s.add_argument("--epochs", type=int)
    s.add_argument("--seed", type=int, default=0, help="the one seed to train (default 0)")
    s.add_argument("--seeds", type=int, metavar="N", help="train seeds 0..N-1 of every model (names -s1, -s2, ...)")
    s.set_defaults(func=cmd_zoo)

    from .choices import DTYPES
    s = sub.add_parser("export", help="turn a trained model into C sources, weights and a manifest for the firmware")
    s.add_argument("model_dir", type=Path, metavar="MODEL_DIR")
    s.add_argument("--dtype", default="int8", choices=DTYPES,
                   help="fp32; w8 (int8 weights, float arithmetic); int8 (integer only, default)")
    s.add_argument("--out", type=Path, metavar="DIR",
                   help="default build/export/<model>-<dtype> (under $HARNESS_BUILD_DIR when set)")
    s.add_argument("--calibration", type=int, default=256, metavar="N", help="training samples to calibrate int8 on")
    s.add_argument("--evaluate", type=int, default=1000, metavar="N",
                   help="test samples to measure host accuracy before and after export on (0: skip)")
    s.add_argument("--data", metavar="SRC", help="measure that accuracy on this data source's test split "
                   "('synthetic' or a Speech Commands / UCI HAR / HAPT folder; default: the model's own)")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("run", help="evaluate models on a board (or its twin): accuracy, latency, memory, reports")
    s.add_argument("--board", required=True, metavar="B")
    s.add_argument("--models", required=True, nargs="+", type=Path, metavar="DIR",
                   help="model directories, or folders of them (a zoo)")
    s.add_argument("--dtype", default="int8", choices=DTYPES)
    s.add_argument("--limit", type=int, metavar="N",
                   help="evaluate a class-stratified subset of N test samples (seeded: the same N every time)")
    s.add_argument("--data", metavar="SRC", help="evaluate on this data source's test split ('synthetic' or a "
                   "Speech Commands / UCI HAR / HAPT folder; default: each model's own); its classes must be the model's")
    s.add_argument("--report-dir", type=Path, metavar="D", help="run directory (default reports/<time>-<board>)")
    s.add_argument("--resume", action="store_true", help="continue the interrupted run in --report-dir")
    s.add_argument("--depth", type=int, default=2, metavar="N",
                   help="requests in flight (default 2: the next input travels during an inference; "
                        "1 keeps the line quiet while the device computes, as MLPerf Tiny does)")
    s.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="evaluate N models at once: N emulators of the board, or N boards (places) of its kind, "
                        "each job leasing its own (default 1)")
    s.add_argument("--timeout", type=float, metavar="S",
                   help="seconds to wait for each reply (default: from the sample's bytes at the board's baud rate "
                        "and the last inference's count at its clock, times 4, at least 2 s)")
    s.add_argument("--retries", type=int, default=8, metavar="N",
                   help="times a request is sent again after a damaged, lost or refused reply (default 8)")
    s.add_argument("--max-recoveries", type=int, default=5, metavar="N",
                   help="times per model the device is brought back (emulator restarted, board reset or "
                        "reflashed) before the run gives up (default 5)")
    s.add_argument("--require-hardware", action="store_true", help="fail instead of falling back to emulation")
    _hardware_map_option(s)
    s.add_argument("-v", "--verbose", action="store_true", help="log detection, flashing and reconnection")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("compare", help="compare two runs; exit 1 when accuracy drops or latency or memory grow "
                                       "beyond the thresholds (docs/reports.md)")
    s.add_argument("base", type=Path, metavar="BASE_RUN")
    s.add_argument("new", type=Path, metavar="NEW_RUN")
    s.add_argument("--thresholds", type=Path, metavar="FILE", help="YAML or JSON overriding the default thresholds")
    s.set_defaults(func=cmd_compare)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except _user_errors() as exc:
        first, *rest = str(exc).splitlines() or [type(exc).__name__]
        print(f"error: {first}", file=sys.stderr)
        for line in rest:
            print(f"  {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
