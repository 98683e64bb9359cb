# Sources every board uses: the counter (DWT or calibrated SysTick) and the
# interrupt-fed receive ring.
list(APPEND BOARD_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/counter.c"
  "${CMAKE_CURRENT_LIST_DIR}/uart_rx.c"
)
