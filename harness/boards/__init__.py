"""Board catalog, detection and hardware maps; knows nothing of models."""

from .catalog import Board, CatalogError, UnknownBoard, boards, get_board, load_catalog
from .detect import AttachedBoard, Scan, UnidentifiedProbe, attached_boards, default_provider, find_attached, scan
from .hwmap import HardwareMapError, HardwareMapProvider, read_map, write_map

__all__ = ["AttachedBoard", "Board", "CatalogError", "HardwareMapError", "HardwareMapProvider", "Scan",
           "UnidentifiedProbe", "UnknownBoard", "attached_boards", "boards", "default_provider", "find_attached",
           "get_board", "load_catalog", "read_map", "scan", "write_map"]
