"""Boards on other hosts, through labgrid: acquire a place on a coordinator, flash, give its network serial port.

harness/device.py plans a place (harness/boards/places.py names it),
`acquire_place` is its lease (coordinator.py), and LabgridTarget (target.py)
flashes the board and opens the place's serial port through the exporter's
ser2net. labgrid is optional (`pip install -e '.[lab]'`): nothing here
imports it until a place is used.
"""

from .coordinator import AcquiredPlace, PlaceLease, acquire_place, check_places, describe_places
from .errors import LabError, LabgridUnavailable, PlaceBusy, Terminated
from .target import LabgridTarget

__all__ = ["AcquiredPlace", "LabError", "LabgridTarget", "LabgridUnavailable", "PlaceBusy", "PlaceLease", "Terminated",
           "acquire_place", "check_places", "describe_places"]
