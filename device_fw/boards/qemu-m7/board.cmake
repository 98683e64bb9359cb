include("${CMAKE_CURRENT_LIST_DIR}/../common/mps2.cmake")
