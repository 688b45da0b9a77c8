# rebound_warnings(target): the warning set every rebound target builds with.
function(rebound_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion -Wnon-virtual-dtor
                                           # designated initialisers that keep defaults are the style:
                                           -Wno-missing-field-initializers)
  if(REBOUND_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
