"""The one check of what a device says in its HELLO: the catalog board, its core, and the compiled-in model.

HELLO carries the SHA-256 of the compiled-in model (32 zero bytes for a
firmware without one) and the board and core the image was built for. Every
path to a device (harness/device.py, and a real board after each flash)
refuses a device that fails this check.
"""

from __future__ import annotations

from ..boards import Board
from ..link import Hello

NO_MODEL = bytes(32)


class HelloMismatch(RuntimeError):
    """The device runs another image than the one built for this board.

    `problem` is the bare fact (for a list of attempts); the message adds what to do."""

    def __init__(self, message: str, problem: str = ""):
        super().__init__(message)
        self.problem = problem or message


class ModelMismatch(HelloMismatch):
    """The device runs another model than the manifest describes (or none)."""


def expected_hash(value: bytes | str | None) -> bytes:
    """32 bytes from bytes, a hex string, or None (a firmware without a model: zeros)."""
    if value is None:
        return NO_MODEL
    if isinstance(value, str):
        try:
            value = bytes.fromhex(value)
        except ValueError:
            raise ValueError(f"expected model hash {value!r} is not hexadecimal") from None
    if len(value) != 32:
        raise ValueError(f"a model hash is 32 bytes (SHA-256), got {len(value)}")
    return bytes(value)


def _short(h: bytes) -> str:
    return "none (zeros)" if h == NO_MODEL else h.hex()[:16] + "…"


def check_hello(hello: Hello, board: Board, model_hash: bytes | str | None = None, *,
                what: str = "the manifest") -> None:
    """Raise HelloMismatch (board or core) or ModelMismatch (model hash) when the device is not running
    the image built for `board` with the model `model_hash` (None: a firmware without a model)."""
    problems = []
    if hello.board != board.name:
        problems.append(f"the device says it runs an image for {hello.board!r} (expected {board.name!r})")
    if hello.core != board.core:
        problems.append(f"the device says its core is {hello.core!r} (expected {board.core!r})")
    if problems:
        problem = "; ".join(problems)
        raise HelloMismatch(f"{problem}: it runs another image; rebuild and flash", problem)
    want, got = expected_hash(model_hash), hello.model_hash
    if got == want:
        return
    problem = f"model hash {_short(got)}, expected {_short(want)}"
    if got == NO_MODEL:
        raise ModelMismatch(f"the device runs a firmware without a model, {what} expects model {want.hex()[:12]}… "
                            f"({problem}); build and flash the model's image (python -m harness run does both)", problem)
    if want == NO_MODEL:
        raise ModelMismatch(f"the device runs model {got.hex()[:12]}… where a firmware without a model was expected "
                            f"({problem}); flash the link-only image", problem)
    raise ModelMismatch(f"the device runs model {got.hex()[:12]}…, {what} describes model {want.hex()[:12]}… "
                        f"({problem}); refusing to evaluate: flash the image built from this export", problem)
