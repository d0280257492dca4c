# The install test, run by ctest as `cmake -P`: install the build tree into a fresh prefix,
# then build and run a consumer program against it twice, once through find_package(dimix)
# and once through pkg-config, with nothing but what the installed package says.
# Inputs (-D): BUILD_DIR, CONFIG, WORK_DIR, CONSUMER_DIR, LIBDIR, GENERATOR, C_COMPILER,
# PKG_CONFIG.
cmake_minimum_required(VERSION 3.20)
set(prefix ${WORK_DIR}/prefix)
set(expected "dimix consumer: [0-9]+ device\\(s\\), cpu add = 11 22 33, safetensors round trip ok")

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

function(expect_line what output)
  if(NOT output MATCHES "${expected}")
    message(FATAL_ERROR "${what} printed:\n${output}\nexpected a line matching: ${expected}")
  endif()
  message(STATUS "${what}: ${CMAKE_MATCH_0}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(config_args)
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
run_step("install" ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} ${config_args})

# 1. CMake: find_package(dimix) + dimix::dimix; the package registry is off so only the prefix
# can satisfy it. The app runs from the build tree through the RPATH CMake records.
run_step("consumer configure" ${CMAKE_COMMAND} -S ${CONSUMER_DIR} -B ${WORK_DIR}/cmake-build
  -G ${GENERATOR} -DCMAKE_C_COMPILER=${C_COMPILER} -DCMAKE_BUILD_TYPE=Release
  -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
file(STRINGS ${WORK_DIR}/cmake-build/CMakeCache.txt found_dir REGEX "^dimix_DIR:")
if(NOT found_dir MATCHES "=${prefix}/")
  message(FATAL_ERROR "find_package(dimix) did not use the installed prefix: ${found_dir}")
endif()
run_step("consumer build" ${CMAKE_COMMAND} --build ${WORK_DIR}/cmake-build)
run_step("consumer run (find_package)" ${WORK_DIR}/cmake-build/app ${WORK_DIR})
expect_line("find_package consumer" "${step_output}")

# 2. pkg-config: the flags must be enough on their own (no BLAS, OpenMP, OpenCL or Vulkan).
set(ENV{PKG_CONFIG_PATH} ${prefix}/${LIBDIR}/pkgconfig)
run_step("pkg-config" ${PKG_CONFIG} --cflags --libs dimix)
string(STRIP "${step_output}" pc_flags)
message(STATUS "pkg-config --cflags --libs dimix: ${pc_flags}")
separate_arguments(pc_list UNIX_COMMAND "${pc_flags}")
set(pc_dirs)
foreach(flag IN LISTS pc_list)
  if(flag MATCHES "^-[IL](.*)")
    get_filename_component(dir "${CMAKE_MATCH_1}" REALPATH)
    list(APPEND pc_dirs "${dir}")
  endif()
endforeach()
get_filename_component(real_prefix "${prefix}" REALPATH)
if(NOT "${real_prefix}/include" IN_LIST pc_dirs OR NOT "${real_prefix}/${LIBDIR}" IN_LIST pc_dirs)
  message(FATAL_ERROR "pkg-config flags do not point into the prefix ${prefix}: ${pc_flags}")
endif()
run_step("pkg-config build" ${C_COMPILER} ${CONSUMER_DIR}/main.c ${pc_list}
  -o ${WORK_DIR}/app-pkgconfig)
set(ENV{LD_LIBRARY_PATH} ${prefix}/${LIBDIR})
run_step("consumer run (pkg-config)" ${WORK_DIR}/app-pkgconfig ${WORK_DIR})
expect_line("pkg-config consumer" "${step_output}")
