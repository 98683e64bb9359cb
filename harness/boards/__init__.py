"""Board catalog, detection and hardware maps; knows nothing of models."""

from .catalog import Board, CatalogError, UnknownBoard, boards, get_board, load_catalog
from .detect import AttachedBoard, Scan, UnidentifiedProbe, UsbProvider, attached_boards, find_attached, scan
from .hwmap import HardwareMapError, HardwareMapProvider, provider_for, read_map, write_map

__all__ = ["AttachedBoard", "Board", "CatalogError", "HardwareMapError", "HardwareMapProvider", "Scan",
           "UnidentifiedProbe", "UnknownBoard", "UsbProvider", "attached_boards", "boards", "find_attached",
           "get_board", "load_catalog", "provider_for", "read_map", "scan", "write_map"]
