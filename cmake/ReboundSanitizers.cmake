# REBOUND_SANITIZE=address builds everything with ASan+UBSan, =thread with TSan.
# Applied globally so libraries, tests and their fakes agree on the runtime.
# Both build at -O1 with line tables (-g${REBOUND_DEBUG_LEVEL}, 1 by default):
# the sanitizers' reports need line numbers, not -O2. g++ 12 compiles
# ASan+UBSan code at -O2 -g about 2.4x slower than at -O1 -g1 (57 s against
# 24 s for the emulator's job runner), which decides whether CI fits its time.
if(REBOUND_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
                      -O1)
  add_link_options(-fsanitize=address,undefined)
elseif(REBOUND_SANITIZE STREQUAL "thread")
  # -Wno-tsan: the keyed cache's read path pairs a membarrier() with
  # atomic_thread_fence, which TSan does not model; g++ warns about any fence
  # under TSan. The cache's tests pass under TSan with seq_cst fallbacks too
  # (pool_tests_fence_fallback).
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan -O1)
  add_link_options(-fsanitize=thread)
elseif(NOT REBOUND_SANITIZE STREQUAL "")
  message(FATAL_ERROR "REBOUND_SANITIZE must be '', 'address' or 'thread', not '${REBOUND_SANITIZE}'")
endif()
