"""Board catalog and detection; knows nothing of models."""

from .catalog import Board, CatalogError, UnknownBoard, boards, get_board, load_catalog
from .detect import AttachedBoard, attached_boards

__all__ = ["AttachedBoard", "Board", "CatalogError", "UnknownBoard", "attached_boards", "boards", "get_board", "load_catalog"]
