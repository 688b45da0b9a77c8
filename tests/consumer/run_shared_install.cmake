# Builds rebound as shared libraries, installs it into WORK_DIR/prefix and
# proves the install runs on its own: no rebound::testing symbol in the
# installed binary, `rebound fleet -q` exits 0 with LD_LIBRARY_PATH unset,
# and a find_package(rebound) consumer builds and runs against it.
file(REMOVE_RECURSE ${WORK_DIR}/prefix ${WORK_DIR}/consumer)
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(launcher)
if(LAUNCHER)
  set(launcher -DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER})
endif()
run(${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build -G ${GENERATOR}
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_SHARED_LIBS=ON -DREBOUND_BUILD_TESTS=OFF
    -DREBOUND_BUILD_BENCH=OFF ${launcher})
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
# librebound_*.so without LD_LIBRARY_PATH.
# The default fleet: a shortened one (8 x 5) makes too few requests for the
# connection-reuse target, so it exits 1 by design.
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${prefix}/bin/rebound fleet -q)

run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${WORK_DIR}/consumer -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${WORK_DIR}/consumer/consumer)
