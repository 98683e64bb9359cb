"""`python -m harness <verb>`: thin command-line entry to each stage."""

from __future__ import annotations

import argparse
import sys

from . import __version__



def _user_errors() -> tuple[type[BaseException], ...]:
    from .boards import CatalogError
    from .firmware import BuildError
    from .link import LinkError
    from .session import HelloMismatch
    from .targets import NoHardwareAttached, QemuError
    return (CatalogError, BuildError, LinkError, HelloMismatch, NoHardwareAttached, QemuError, FileNotFoundError)


def cmd_boards(args) -> int:
    from .boards import attached_boards, boards
    from .targets import plan_target
    attached = attached_boards()
    print("Attached boards: " + (", ".join(f"{a.board} ({a.probe_serial} on {a.port})" for a in attached)
                                 or "none found (USB detection: no probe attached)"))
    print()
    rows = [("board", "core", "clock", "flash", "RAM", "runs now on")]
    for b in boards().values():
        plan = plan_target(b)
        where = "real board" if plan.kind == "hardware" else f"emulated: {b.twin_label}"
        rows.append((b.name, b.core, f"{b.clock_hz / 1e6:g} MHz", f"{b.flash.size // 1024} KiB",
                     f"{b.ram.size // 1024} KiB", where))
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
    from .boards import get_board
    from .session import connect
    board = get_board(args.board)
    with connect(board, require_hardware=args.require_hardware) as dev:
        h = dev.hello
        print(dev.plan.reason)
        print(f"  firmware {h.fw_version}, protocol {h.protocol_version}, board {h.board}, core {h.core}")
        print(f"  clock {h.clock_hz} Hz, counter {h.counter_kind}, max payload {h.max_payload} B")
        print(f"  capabilities {h.capabilities!r}, input/output buffers {h.input_capacity}/{h.output_capacity} B")
        print(f"  model hash {h.model_hash.hex()}")
        st = dev.link.status()
        print(f"  stack peak {st.stack_peak} of {st.stack_size} B, counter resolution {st.counter_resolution}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m harness",
                                description="Evaluate compressed tiny neural networks on Cortex-M boards or their emulated twins.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    sub.required = True

    s = sub.add_parser("boards", help="list catalog boards, attached boards, and what each would run on now")
    s.set_defaults(func=cmd_boards)

    s = sub.add_parser("build", help="build the firmware image for one or more boards")
    s.add_argument("--board", action="append", required=True, metavar="B",
                   help="catalog board name (repeatable), or 'all'")
    s.set_defaults(func=cmd_build)

    s = sub.add_parser("hello", help="build, start the board (or its twin), handshake and print what the device says")
    s.add_argument("--board", required=True, metavar="B")
    s.add_argument("--require-hardware", action="store_true", help="fail instead of falling back to emulation")
    s.set_defaults(func=cmd_hello)
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


if __name__ == "__main__":
    sys.exit(main())
