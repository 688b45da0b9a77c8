# rebound_add_part(<part> SOURCES ... [DEPS ...] [PRIVATE_DEPS ...] [TEST_ONLY]):
# a library per part, target rebound_<part>, alias and exported name
# rebound::<part>. Every source is listed by name (no globs). TEST_ONLY parts
# (rebound::testing) are built for the test suite and never installed.
function(rebound_add_part part)
  cmake_parse_arguments(ARG "TEST_ONLY" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  set(target rebound_${part})
  add_library(${target} ${ARG_SOURCES})
  add_library(rebound::${part} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${part} OUTPUT_NAME rebound_${part}
                                             POSITION_INDEPENDENT_CODE ON)
  target_compile_features(${target} PUBLIC cxx_std_23)
  target_include_directories(${target} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                                              $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  if(ARG_PRIVATE_DEPS)
    target_link_libraries(${target} PRIVATE ${ARG_PRIVATE_DEPS})
  endif()
  rebound_warnings(${target})
  if(ARG_TEST_ONLY)
    return()
  endif()
  # Installed libraries find their siblings in their own folder.
  set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN")
  install(TARGETS ${target} EXPORT reboundTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()

# rebound_add_test(<name> SOURCES ... DEPS ... [LABELS ...]): a GoogleTest
# binary registered with ctest (one ctest entry per binary keeps the run lean;
# gtest output still names every case).
function(rebound_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} rebound::testing GTest::gtest GTest::gmock GTest::gtest_main)
  rebound_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} --gtest_color=no)
  if(ARG_LABELS)
    set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  endif()
endfunction()
