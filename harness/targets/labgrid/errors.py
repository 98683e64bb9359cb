"""What can go wrong with a labgrid place; every message is one line that says what to do."""

from ..hardware.errors import HardwareError

LAB_INSTALL = "pip install -e '.[lab]' (or pip install 'kp-harness[lab]')"


class LabError(HardwareError):
    """A labgrid place could not be reached, acquired or used."""


class LabgridUnavailable(LabError):
    """labgrid is not installed."""


class PlaceBusy(LabError):
    """Every place that holds the board is acquired by someone else, for longer than the wait allowed."""


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived while a labgrid place was held: unwound like Ctrl-C, so the place is released."""
