# rebound_warnings(target): the warning set every rebound target builds with.
function(rebound_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion -Wnon-virtual-dtor
                                           # designated initialisers that keep defaults are the style:
                                           -Wno-missing-field-initializers)
  if(REBOUND_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  # g++ 12 with -fsanitize=address reports a false -Wmaybe-uninitialized
  # inside <regex>'s std::function (GCC bug 105562 family); every target that
  # includes <regex> would fail -Werror under ASan. Normal builds keep it.
  if(REBOUND_SANITIZE STREQUAL "address")
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()
