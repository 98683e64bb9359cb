# corstone-300: the MPS2/MPS3 board code and CMSDK UART driver; nothing of its own.
include("${CMAKE_CURRENT_LIST_DIR}/../common/mps2.cmake")
