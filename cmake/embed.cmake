# dimix_embed(TARGET name OUTPUT c-file SYMBOL sym INPUT file): turns a file (an OpenCL source
# or a SPIR-V binary) into a C array `const unsigned char sym[]` plus `const size_t sym_len`,
# NUL-terminated so sources go straight to clCreateProgramWithSource. Pure CMake, no Python.
set(DIMIX_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_file.cmake)
function(dimix_embed)
  cmake_parse_arguments(E "" "OUTPUT;SYMBOL;INPUT" "" ${ARGN})
  add_custom_command(OUTPUT ${E_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -DIN=${E_INPUT} -DOUT=${E_OUTPUT} -DSYM=${E_SYMBOL}
            -P ${DIMIX_EMBED_SCRIPT}
    DEPENDS ${E_INPUT} ${DIMIX_EMBED_SCRIPT}
    COMMENT "Embedding ${E_INPUT}" VERBATIM)
endfunction()
