# REBOUND_SANITIZE=address builds everything with ASan+UBSan, =thread with TSan.
# Applied globally so libraries, tests and their fakes agree on the runtime.
if(REBOUND_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(REBOUND_SANITIZE STREQUAL "thread")
  # -Wno-tsan: the keyed cache's read path pairs a membarrier() with
  # atomic_thread_fence, which TSan does not model; g++ warns about any fence
  # under TSan. The cache's tests pass under TSan with seq_cst fallbacks too
  # (pool_tests_fence_fallback).
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
elseif(NOT REBOUND_SANITIZE STREQUAL "")
  message(FATAL_ERROR "REBOUND_SANITIZE must be '', 'address' or 'thread', not '${REBOUND_SANITIZE}'")
endif()
