# NUCLEO-F446RE (STM32F446RE). The same image boots on QEMU netduinoplus2.
include("${CMAKE_CURRENT_LIST_DIR}/../common/core.cmake")
list(APPEND BOARD_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/board.c"
  "${CMAKE_CURRENT_LIST_DIR}/clock.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32_heartbeat.c"
)
