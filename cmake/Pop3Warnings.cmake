# pop3_target_defaults(target): warnings, optional -Werror and sanitizers for our own targets.
add_library(pop3_build_flags INTERFACE)
target_compile_options(pop3_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wno-missing-field-initializers) # designated initializers may omit members
if(POP3_WERROR)
    target_compile_options(pop3_build_flags INTERFACE -Werror)
endif()
if(POP3_SANITIZE)
    target_compile_options(pop3_build_flags INTERFACE -fsanitize=address,undefined
        -fno-sanitize-recover=all -fno-omit-frame-pointer)
    if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
        # clang 14's function sanitizer breaks the assembly of coroutines ("Cannot represent a
        # difference across sections"); the rest of UBSan stays on.
        target_compile_options(pop3_build_flags INTERFACE -fno-sanitize=function)
    endif()
    target_link_options(pop3_build_flags INTERFACE -fsanitize=address,undefined
        -fno-sanitize-recover=all)
endif()

if(POP3_BUILD_FUZZERS)
    # Coverage instrumentation for every library the fuzzers link; the fuzzer targets add the
    # libFuzzer main themselves.
    target_compile_options(pop3_build_flags INTERFACE -fsanitize=fuzzer-no-link,address,undefined
        -fno-sanitize-recover=all -fno-omit-frame-pointer -fno-sanitize=function)
    target_link_options(pop3_build_flags INTERFACE -fsanitize=address,undefined)
endif()

function(pop3_target_defaults target)
    target_link_libraries(${target} PRIVATE $<BUILD_INTERFACE:pop3_build_flags>)
endfunction()
