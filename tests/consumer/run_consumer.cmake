# Installs the build tree into WORK_DIR/prefix, builds the consumer project
# against it and runs the result. Any failing step fails the test.
include(${CMAKE_CURRENT_LIST_DIR}/consumer_steps.cmake)
file(REMOVE_RECURSE ${WORK_DIR})
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix)
build_and_run_consumer(${WORK_DIR}/prefix ${WORK_DIR}/build)
