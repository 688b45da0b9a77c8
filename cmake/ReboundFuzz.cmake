# REBOUND_FUZZ=ON builds the libFuzzer fuzzers in tests/fuzz (see
# tests/fuzz/README.md and scripts/fuzz).
#
# Why g++ and not clang: Debian's clang 14 cannot compile this code base
# (libstdc++ 12's std::expected needs P0848 conditionally trivial special
# members, which clang gets in 16). So everything is built by g++ with
# -fsanitize-coverage=trace-pc,trace-cmp and linked against Debian clang's
# libFuzzer runtime (libclang-rt-14-dev). libFuzzer consumes the trace-cmp
# hooks directly; trace-pc calls are redirected (--wrap) to a small shim
# (tests/fuzz/coverage_shim.cpp) that feeds libFuzzer's inline 8-bit counters.
option(REBOUND_FUZZ "Build the libFuzzer fuzzers (tests/fuzz); needs libclang-rt-14-dev" OFF)
set(REBOUND_FUZZ_SECONDS 20 CACHE STRING "Seconds each fuzzer runs as a ctest (label fuzz)")

if(REBOUND_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    message(FATAL_ERROR "REBOUND_FUZZ=ON needs g++ (see cmake/ReboundFuzz.cmake for why)")
  endif()
  if(REBOUND_BUILD_TESTS OR REBOUND_BUILD_CLI OR REBOUND_BUILD_BENCH)
    message(FATAL_ERROR "REBOUND_FUZZ=ON is a build of its own: set REBOUND_BUILD_TESTS, "
                        "REBOUND_BUILD_CLI and REBOUND_BUILD_BENCH to OFF (scripts/fuzz does)")
  endif()
  file(GLOB REBOUND_LIBFUZZER
       /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a)
  list(SORT REBOUND_LIBFUZZER)
  list(REVERSE REBOUND_LIBFUZZER)
  list(GET REBOUND_LIBFUZZER 0 REBOUND_LIBFUZZER)
  if(NOT EXISTS "${REBOUND_LIBFUZZER}")
    message(FATAL_ERROR "libFuzzer runtime not found: apt-get install libclang-rt-14-dev")
  endif()
  message(STATUS "rebound fuzzers: libFuzzer runtime ${REBOUND_LIBFUZZER}")
  add_compile_options(-fsanitize-coverage=trace-pc,trace-cmp)
endif()
