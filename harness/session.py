"""One connected device: plan the target, build its image, start it, handshake.

Shared by the CLI and the pytest plugin so both choose and start boards the same way.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import attrs

from . import firmware
from .boards import Board
from .link import Hello, Link
from .targets.select import Plan, leased, open_target, plan_target


class HelloMismatch(RuntimeError):
    pass


class ModelMismatch(HelloMismatch):
    """The device runs another model than the manifest describes."""


def check_model(hello: Hello, expected_hash: str, *, what: str = "the manifest") -> None:
    """Refuse a device whose compiled-in model is not the one about to be evaluated."""
    got = hello.model_hash
    if got == bytes(32):
        raise ModelMismatch(f"the device runs a firmware without a model, {what} expects model {expected_hash[:12]}…; "
                            "build and flash the model's image (python -m harness run does both)")
    if got.hex() != expected_hash:
        raise ModelMismatch(f"the device runs model {got.hex()[:12]}…, {what} describes model {expected_hash[:12]}…; "
                            "refusing to evaluate: flash the image built from this export")


@attrs.define
class Device:
    plan: Plan
    image: firmware.Image
    target: object
    link: Link
    hello: Hello


def check_hello(board: Board, hello: Hello) -> None:
    """The device must be running an image built for this catalog entry."""
    problems = []
    if hello.board != board.name:
        problems.append(f"board {hello.board!r} (expected {board.name!r})")
    if hello.core != board.core:
        problems.append(f"core {hello.core!r} (expected {board.core!r})")
    if problems:
        raise HelloMismatch(f"the device reports {', '.join(problems)}: it runs another image; rebuild and flash")


@contextlib.contextmanager
def connect(board: Board, *, require_hardware: bool = False, log_dir: Path | None = None, provider=None,
            model=None):
    """Yield a Device with a completed handshake; always stops the target afterwards.

    With `model` (an Exported), the image has that model compiled in and the
    device must report its hash. On a real board, one that no other run holds
    is leased for the duration, flashed, and verified against that hash (zeros
    without a model) before the handshake here."""
    plan = plan_target(board, require_hardware=require_hardware, provider=provider)
    image = firmware.build(board, model=model)
    with leased(plan) as plan:
        target = open_target(plan, image.elf, image.bin, log_dir=log_dir,
                             expected_hash=None if model is None else model.model_hash)
        try:
            target.start()
            link = Link(target.port)
            hello = link.handshake()
            check_hello(board, hello)
            if model is not None:
                check_model(hello, model.model_hash)
            yield Device(plan, image, target, link, hello)
        finally:
            target.stop()
