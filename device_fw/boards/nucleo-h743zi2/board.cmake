# NUCLEO-H743ZI2 (STM32H743ZI, Cortex-M7). No QEMU twin.
include("${CMAKE_CURRENT_LIST_DIR}/../common/core.cmake")
list(APPEND BOARD_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/board.c"
  "${CMAKE_CURRENT_LIST_DIR}/clock.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/cm7_cache.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32_usart.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32_board_io.c"
  "${CMAKE_CURRENT_LIST_DIR}/../common/stm32_heartbeat.c"
)
