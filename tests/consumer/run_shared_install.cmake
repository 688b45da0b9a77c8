# Builds rebound as shared libraries, installs it into WORK_DIR/prefix and
# proves the install runs on its own: no rebound::testing symbol in the
# installed binary, `rebound fleet` runs with LD_LIBRARY_PATH unset and
# writes its rows exactly,
# and a find_package(rebound) consumer builds and runs against it.
include(${CMAKE_CURRENT_LIST_DIR}/consumer_steps.cmake)
file(REMOVE_RECURSE ${WORK_DIR}/prefix ${WORK_DIR}/consumer)

set(prefix ${WORK_DIR}/prefix)
set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
# Unoptimised, without debug information: this proves linking, install
# paths and RPATHs, not speed, and it is the longest test of the suite (a
# whole second build), so it is built the fastest way (~2x quicker than
# RelWithDebInfo).
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DBUILD_SHARED_LIBS=ON
    -DREBOUND_BUILD_TESTS=OFF -DREBOUND_BUILD_BENCH=OFF ${launcher})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${CMAKE_COMMAND} --install ${WORK_DIR}/build --prefix ${prefix})

# The installed binary links no test fixture.
run(nm -C ${prefix}/bin/rebound)
string(FIND "${last_output}" "rebound::testing" testing_symbol)
if(NOT testing_symbol EQUAL -1)
  message(FATAL_ERROR "the installed rebound holds rebound::testing symbols")
endif()
file(GLOB testing_libs ${prefix}/lib*/librebound_testing*)
if(testing_libs)
  message(FATAL_ERROR "rebound::testing was installed: ${testing_libs}")
endif()

# It runs from the prefix alone: the install RPATH ($ORIGIN/../lib) finds
# librebound_*.so without LD_LIBRARY_PATH. What this proves is that the
# installed binary loads and does the whole job with exact rows; the
# success table's timing rows (HTTP latency, reuse) are measurements of the
# machine, so exit 1 (a timing target missed) is accepted here while a loader
# error (127), a crash or a wrong row count is not.
execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${prefix}/bin/rebound
                        fleet -q --json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT (rc EQUAL 0 OR rc EQUAL 1))
  message(FATAL_ERROR "the installed rebound fleet failed (${rc}):\n${out}\n${err}")
endif()
string(JSON rows_expected ERROR_VARIABLE json_error GET "${out}" rebound rows_expected)
string(JSON rows_in_table ERROR_VARIABLE json_error2 GET "${out}" rebound rows_in_table)
string(JSON rows_wrong ERROR_VARIABLE json_error3 GET "${out}" rebound rows_wrong)
if(json_error OR json_error2 OR json_error3 OR rows_expected EQUAL 0
   OR NOT rows_in_table EQUAL rows_expected OR NOT rows_wrong EQUAL 0)
  message(FATAL_ERROR "the installed rebound fleet did not write its rows exactly:\n${out}\n${err}")
endif()

build_and_run_consumer(${prefix} ${WORK_DIR}/consumer)
