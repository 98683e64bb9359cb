"""Which published layout a folder is in."""

from __future__ import annotations

from pathlib import Path

from .hapt import find_hapt_root
from .speech_commands import FULL, TEST12, detect_speech_commands_layout
from .uci_har import find_uci_har_root

SPEECH_COMMANDS, SPEECH_COMMANDS_TEST12, UCI_HAR, HAPT_RAW = FULL, TEST12, "uci-har", "hapt-raw"
LAYOUTS = (SPEECH_COMMANDS, SPEECH_COMMANDS_TEST12, UCI_HAR, HAPT_RAW)

_EXPECTED = ("Speech Commands (word folders + validation_list.txt + testing_list.txt + _background_noise_/), "
             "its 12-class test set (_silence_/, _unknown_/, word folders, testing_list.txt), "
             "UCI HAR ('UCI HAR Dataset/{train,test}/Inertial Signals/') or HAPT raw (RawData/labels.txt)")


def detect_layout(path) -> str:
    """One of LAYOUTS; a one-line error when the folder is in none of them."""
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"dataset folder {p} does not exist; pass an existing folder or source='synthetic'")
    if not p.is_dir():
        raise ValueError(f"{p} is a file, a dataset source must be a folder in one of these layouts: {_EXPECTED}")
    sc = detect_speech_commands_layout(p)
    if sc is not None:
        return sc
    if find_uci_har_root(p) is not None:
        return UCI_HAR
    if find_hapt_root(p) is not None:
        return HAPT_RAW
    raise ValueError(f"{p} is in no known dataset layout; expected {_EXPECTED}")
