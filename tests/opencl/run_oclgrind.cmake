# Runs the parity program under oclgrind and fails on any error oclgrind reports.
#
#   cmake -DOCLGRIND=path -DPROGRAM=parity_opencl -DWORK_DIR=dir -DSOURCE_DIR=repo
#         [-DBREAK_KERNEL=1] -P run_oclgrind.cmake
#
# The program runs the small parity shapes once each (DIMIX_PARITY_SMALL, DIMIX_PARITY_ONCE,
# set by ctest) on opencl:0, which under oclgrind is the simulator. CLBlast is switched off
# (DIMIX_OPENCL_CLBLAST=0): its kernels take far too long to simulate, so GEMMs run dimix's
# own cl/gemm.cl kernel instead; every kernel of cl/ runs. oclgrind checks out-of-bounds
# accesses (always), data races (--data-races), uninitialised values (--uninitialized) and API
# misuse (--check-api), and writes what it finds to a log that must stay empty.
#
# BREAK_KERNEL=1 is the check of the check: the fill kernel is patched to write far outside
# its buffer (through DIMIX_KERNEL_DIR), and the run must then report errors.
set(log ${WORK_DIR}/oclgrind.log)
file(REMOVE ${log})
file(MAKE_DIRECTORY ${WORK_DIR})

if(BREAK_KERNEL)
  set(kernels ${WORK_DIR}/broken-kernels)
  file(REMOVE_RECURSE ${kernels})
  file(COPY ${SOURCE_DIR}/cl/ DESTINATION ${kernels})
  file(READ ${kernels}/elementwise.cl text)
  # The fill kernel's first statement moves its pointer 100M elements past the buffer.
  set(fill_start "DMX_KERNEL void fill(__global uint *y, ulong y_off, int n, uint bits)\n{\n")
  string(REPLACE "${fill_start}    y += y_off;" "${fill_start}    y += y_off + 100000000;"
                 broken "${text}")
  if(broken STREQUAL text)
    message(FATAL_ERROR "could not patch the fill kernel of ${kernels}/elementwise.cl")
  endif()
  file(WRITE ${kernels}/elementwise.cl "${broken}")
  set(ENV{DIMIX_KERNEL_DIR} ${kernels})
  set(ENV{DIMIX_PARITY_OP} fill)
endif()

execute_process(
  COMMAND ${OCLGRIND} --data-races --uninitialized --check-api --log ${log} ${PROGRAM} opencl:0
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)

set(reported "")
if(EXISTS ${log})
  file(READ ${log} reported)
endif()
# Fatal simulator errors (an instruction it cannot handle) go to stderr, not to the log.
string(REGEX MATCHALL "OCLGRIND FATAL ERROR[^\n]*" fatal "${out}${err}")

if(BREAK_KERNEL)
  if(NOT reported MATCHES "Invalid write")
    message(FATAL_ERROR "oclgrind did not report the fill kernel's out-of-bounds write "
                        "(exit ${rc}); log:\n${reported}\n${out}\n${err}")
  endif()
  message(STATUS "oclgrind caught the deliberate out-of-bounds write, as it should")
  return()
endif()

if(NOT reported STREQUAL "" OR fatal)
  string(SUBSTRING "${reported}" 0 6000 head)
  message(FATAL_ERROR "oclgrind reported errors:\n${head}\n${fatal}")
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} under oclgrind exited with ${rc}:\n${out}\n${err}")
endif()
string(REGEX MATCH "[0-9]+ cases, [0-9]+ failures" summary "${out}")
message(STATUS "oclgrind: no errors (${summary})")
