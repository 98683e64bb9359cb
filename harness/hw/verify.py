"""After flashing: the board must run the image just flashed, told by its handshake.

HELLO carries the SHA-256 of the compiled-in model (32 zero bytes for a
firmware without one) and the catalog board the image was built for. A flash
that did not take, a corrupted one or a board that answers nothing gets one
more flash; a second failure is an error naming both attempts.
"""

from __future__ import annotations

import logging
from typing import Callable

from ..link import Hello, LinkError
from .errors import FlashVerifyError

log = logging.getLogger(__name__)

NO_MODEL = bytes(32)


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


def check(hello: Hello, expected: bytes, board_name: str) -> str | None:
    """What is wrong with what the device says, or None."""
    if hello.board != board_name:
        return f"the device says it runs an image for {hello.board!r}"
    if hello.model_hash != expected:
        return f"model hash {_short(hello.model_hash)}, expected {_short(expected)}"
    return None


def flash_and_verify(flash: Callable[[], None], handshake: Callable[[], Hello], expected: bytes | str | None, *,
                     board_name: str, what: str, attempts: int = 2) -> Hello:
    """Flash, handshake, compare; flash again on a mismatch (`attempts` in all), then fail.

    `flash` puts the image on the board (FlashError there is final: the probe said no);
    `handshake` reaches the freshly started image and returns its HELLO."""
    want = expected_hash(expected)
    problems: list[str] = []
    for attempt in range(1, attempts + 1):
        flash()
        try:
            hello = handshake()
        except LinkError as exc:
            problem = f"no handshake ({exc})"
        else:
            problem = check(hello, want, board_name)
            if problem is None:
                if attempt > 1:
                    log.warning("%s: the image verified on flash %d of %d", what, attempt, attempts)
                return hello
        problems.append(f"flash {attempt}: {problem}")
        log.warning("%s: the image did not verify after flash %d: %s", what, attempt, problem)
    raise FlashVerifyError(f"{what} does not run the image flashed {attempts} times ({'; '.join(problems)}); "
                           "check the image was built for this board and the probe's drive is this board's")
