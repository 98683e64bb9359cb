# NUCLEO-L4R5ZI (STM32L4R5ZI), the MLPerf Tiny reference board. No QEMU twin.
include("${CMAKE_CURRENT_LIST_DIR}/../common/core.cmake")
list(APPEND BOARD_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/board.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32l4_clock.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32l4_board.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32_usart.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32_board_io.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32_heartbeat.c"
)
