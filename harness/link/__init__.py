"""The serial link: COBS framing, CRC-32, handshake and typed messages. Knows nothing of ML."""

from .client import DeviceError, HandshakeError, Link, LinkError, LinkTimeout, ProtocolError, RetriesExhausted
from .messages import Capability, ErrorCode, Hello, InferResult, Msg, Status

__all__ = [
    "Capability", "DeviceError", "ErrorCode", "HandshakeError", "Hello", "InferResult", "Link", "LinkError",
    "LinkTimeout", "Msg", "ProtocolError", "RetriesExhausted", "Status",
]
