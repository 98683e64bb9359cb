# The MPS2 boards: shared board code and the CMSDK UART driver.
include("${CMAKE_CURRENT_LIST_DIR}/core.cmake")
list(APPEND BOARD_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/mps2.c"
  "${CMAKE_CURRENT_LIST_DIR}/cmsdk_uart.c"
)
