# Steps shared by the consumer test scripts (run_consumer.cmake,
# run_shared_install.cmake); include() it, then call the functions.

# run(<command> [args...]): runs the command; a non-zero exit fails the test
# with the command, its output and its errors. The output is printed and left
# in `last_output` in the caller's scope.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "command failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

# build_and_run_consumer(<prefix> <build_dir>): configures the find_package
# consumer project (CONSUMER_SOURCE) against the install in <prefix>, builds
# it in <build_dir> with GENERATOR and runs it with LD_LIBRARY_PATH unset, so
# a shared install must find its libraries through its RPATH.
function(build_and_run_consumer prefix build_dir)
  run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE} -B ${build_dir} -G ${GENERATOR}
      -DCMAKE_PREFIX_PATH=${prefix})
  run(${CMAKE_COMMAND} --build ${build_dir})
  run(${CMAKE_COMMAND} -E env --unset=LD_LIBRARY_PATH ${build_dir}/consumer)
endfunction()
