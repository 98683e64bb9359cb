# FRDM-K64F (MK64FN1M0VLL12). No QEMU twin. board.c defines the flash
# configuration field that startup/sections.ld places at 0x400.
include("${CMAKE_CURRENT_LIST_DIR}/../common/core.cmake")
list(APPEND BOARD_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/board.c"
  "${CMAKE_CURRENT_LIST_DIR}/clock.c"
)
