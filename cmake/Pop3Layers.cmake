# The layering of pop3kit (docs/architecture.md, "Layers"), checked: no library or program
# includes the headers of a layer it may not use, or links its target, and the sans-I/O layers
# include no Asio, TLS or socket header and link no Boost or OpenSSL::SSL.
#
# Included from tests/CMakeLists.txt, it defines pop3_add_layering_test(NAME): at configure time
# it writes what the build knows of each target (sources, include folders, link libraries) to a
# file in the build folder, and adds a ctest test that runs this file as a script (cmake -P) over
# it. The include scan is textual and reads the files as they are when the test runs.

# ---- the table: target, and the pop3 targets it may use (include or link) ------------------
# Lowest layer first. A target may always use itself; pop3_version (pop3/version.hpp) is for
# programs only.
set(POP3_LAYERS
    "pop3_protocol:"
    "pop3_net:pop3_protocol"
    "pop3_mockserver_core:pop3_protocol"
    "pop3_mockserver:pop3_mockserver_core,pop3_net,pop3_protocol"
    "pop3_client:pop3_net,pop3_protocol"
    "pop3_conformance:pop3_mockserver,pop3_mockserver_core,pop3_client,pop3_net,pop3_protocol"
    "pop3_load_core:pop3_client,pop3_net,pop3_protocol"
    "pop3_fuzzer:pop3_conformance,pop3_mockserver,pop3_mockserver_core,pop3_client,pop3_net,pop3_protocol"
    "pop3-client:pop3_client,pop3_net,pop3_protocol,pop3_version"
    "pop3-mockserver:pop3_mockserver,pop3_mockserver_core,pop3_net,pop3_protocol,pop3_version"
    "pop3-conformance:pop3_conformance,pop3_mockserver,pop3_mockserver_core,pop3_client,pop3_net,pop3_protocol,pop3_version"
    "pop3-load:pop3_load_core,pop3_client,pop3_net,pop3_protocol,pop3_version"
    "pop3-fuzz:pop3_fuzzer,pop3_conformance,pop3_mockserver,pop3_mockserver_core,pop3_client,pop3_net,pop3_protocol,pop3_load_core,pop3_version")
# The sans-I/O layers: no Boost (Asio), no TLS, no sockets. OpenSSL's libcrypto (digests) is
# allowed.
set(POP3_SANSIO_TARGETS pop3_protocol pop3_mockserver_core)
set(POP3_SANSIO_FORBIDDEN_INCLUDES
    "^boost/" "asio" "^openssl/(ssl|tls1|x509|bio)" "^sys/socket\\.h$" "^netinet/" "^arpa/"
    "^netdb\\.h$" "^sys/epoll\\.h$")
set(POP3_SANSIO_FORBIDDEN_LINKS "^Boost::" "^OpenSSL::SSL$" "^Threads::")

if(NOT CMAKE_SCRIPT_MODE_FILE)
    # pop3_add_layering_test(NAME): the ctest test NAME runs the check.
    function(pop3_add_layering_test name)
        set(manifest "${CMAKE_CURRENT_BINARY_DIR}/${name}-targets.cmake")
        set(text "# Written by cmake/Pop3Layers.cmake at configure time.\n")
        set(names "")
        foreach(row IN LISTS POP3_LAYERS)
            string(REGEX REPLACE ":.*" "" t "${row}")
            list(APPEND names ${t})
        endforeach()
        list(APPEND names pop3_version)
        foreach(t IN LISTS names)
            if(NOT TARGET ${t})
                message(FATAL_ERROR "Pop3Layers: no target ${t} (update the table in ${CMAKE_CURRENT_FUNCTION_LIST_FILE})")
            endif()
            get_target_property(dir ${t} SOURCE_DIR)
            get_target_property(sources ${t} SOURCES)
            get_target_property(includes ${t} INTERFACE_INCLUDE_DIRECTORIES)
            get_target_property(links ${t} LINK_LIBRARIES)
            foreach(v sources includes links)
                if(NOT ${v})
                    set(${v} "")
                endif()
            endforeach()
            string(APPEND text "set(\"T_${t}_DIR\" [==[${dir}]==])\n"
                "set(\"T_${t}_SOURCES\" [==[${sources}]==])\n"
                "set(\"T_${t}_INCLUDES\" [==[${includes}]==])\n"
                "set(\"T_${t}_LINKS\" [==[${links}]==])\n")
        endforeach()
        file(WRITE "${manifest}" "${text}")
        add_test(NAME ${name} COMMAND ${CMAKE_COMMAND} -DPOP3_LAYER_TARGETS=${manifest}
            -P ${CMAKE_CURRENT_FUNCTION_LIST_FILE})
    endfunction()
    return()
endif()

# ---- script mode: the check ---------------------------------------------------------------
cmake_minimum_required(VERSION 3.25)
if(NOT POP3_LAYER_TARGETS)
    message(FATAL_ERROR "usage: cmake -DPOP3_LAYER_TARGETS=<file written at configure> -P ${CMAKE_SCRIPT_MODE_FILE}")
endif()
include("${POP3_LAYER_TARGETS}")

set(targets "")
foreach(row IN LISTS POP3_LAYERS)
    string(REGEX REPLACE ":.*" "" t "${row}")
    string(REGEX REPLACE "^[^:]*:" "" uses "${row}")
    string(REPLACE "," ";" uses "${uses}")
    list(APPEND targets ${t})
    set(allowed_${t} ${t} ${uses})
endforeach()

# Each target's include folders, as the build sees them (not the install's).
foreach(t IN LISTS targets ITEMS pop3_version)
    set(roots_${t} "")
    foreach(d IN LISTS T_${t}_INCLUDES)
        if(d MATCHES "^\\$<INSTALL_INTERFACE:")
            continue()
        endif()
        string(REGEX REPLACE "^\\$<BUILD_INTERFACE:(.*)>$" "\\1" d "${d}")
        list(APPEND roots_${t} "${d}")
    endforeach()
    set(abs_sources_${t} "")
    foreach(s IN LISTS T_${t}_SOURCES)
        if(NOT IS_ABSOLUTE "${s}")
            set(s "${T_${t}_DIR}/${s}")
        endif()
        list(APPEND abs_sources_${t} "${s}")
    endforeach()
endforeach()

# The headers each target may own: those under its include folders and, for a target with
# sources, every header in its folder (include/, src/, tools/).
foreach(t IN LISTS targets ITEMS pop3_version)
    set(candidates_${t} "")
    foreach(r IN LISTS roots_${t})
        file(GLOB_RECURSE found "${r}/pop3/*.hpp" "${r}/pop3/*.h")
        list(APPEND candidates_${t} ${found})
    endforeach()
    if(abs_sources_${t})
        file(GLOB_RECURSE found "${T_${t}_DIR}/*.hpp" "${T_${t}_DIR}/*.h")
        list(APPEND candidates_${t} ${found})
    endif()
    list(REMOVE_DUPLICATES candidates_${t})
endforeach()

# The target a header belongs to: where several targets share a folder (pop3::mockserver_core
# and pop3::mockserver; a library and its program), the one that compiles the .cpp of the same
# name, else the lowest of them in the table.
function(pop3_owner header out)
    get_filename_component(stem "${header}" NAME_WE)
    set(first "")
    foreach(t IN LISTS targets ITEMS pop3_version)
        if(NOT header IN_LIST candidates_${t})
            continue()
        endif()
        if(first STREQUAL "")
            set(first ${t})
        endif()
        foreach(s IN LISTS abs_sources_${t})
            get_filename_component(s_stem "${s}" NAME_WE)
            if(s_stem STREQUAL stem)
                set(${out} ${t} PARENT_SCOPE)
                return()
            endif()
        endforeach()
    endforeach()
    set(${out} "${first}" PARENT_SCOPE)
endfunction()

# The owner of `#include <pop3/...>` (empty: no target's header).
function(pop3_include_owner inc out)
    foreach(t IN LISTS targets ITEMS pop3_version)
        foreach(r IN LISTS roots_${t})
            if(EXISTS "${r}/${inc}")
                pop3_owner("${r}/${inc}" owner)
                set(${out} "${owner}" PARENT_SCOPE)
                return()
            endif()
        endforeach()
    endforeach()
    set(${out} "" PARENT_SCOPE)
endfunction()

# The files of each target: its sources and the headers it owns.
foreach(t IN LISTS targets)
    set(files_${t} ${abs_sources_${t}})
    foreach(h IN LISTS candidates_${t})
        pop3_owner("${h}" owner)
        if(owner STREQUAL t)
            list(APPEND files_${t} "${h}")
        endif()
    endforeach()
    list(REMOVE_DUPLICATES files_${t})
    if(POP3_LAYERS_VERBOSE) # -DPOP3_LAYERS_VERBOSE=ON: which file is checked as which target's
        string(REPLACE ";" "\n    " text "${files_${t}}")
        message(STATUS "${t}:\n    ${text}")
    endif()
endforeach()

set(violations "")
set(checked 0)
foreach(t IN LISTS targets)
    list(FIND POP3_SANSIO_TARGETS ${t} sansio)
    string(REPLACE ";" ", " may "${allowed_${t}}")
    foreach(f IN LISTS files_${t})
        if(NOT EXISTS "${f}" OR NOT f MATCHES "\\.(c|cc|cpp|cxx|h|hh|hpp|hxx|ipp)$")
            continue()
        endif()
        math(EXPR checked "${checked} + 1")
        file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
        foreach(line IN LISTS lines)
            if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*[<\"]([^>\"]+)[>\"]")
                continue()
            endif()
            set(inc "${CMAKE_MATCH_1}")
            if(inc MATCHES "^pop3/")
                pop3_include_owner("${inc}" owner)
                if(owner STREQUAL "")
                    list(APPEND violations "${f}: includes <${inc}>, which is no target's header")
                elseif(NOT owner IN_LIST allowed_${t})
                    list(APPEND violations
                        "${f}: ${t} includes <${inc}> of ${owner} (${t} may use only ${may})")
                endif()
            endif()
            if(sansio GREATER -1)
                foreach(p IN LISTS POP3_SANSIO_FORBIDDEN_INCLUDES)
                    if(inc MATCHES "${p}")
                        list(APPEND violations
                            "${f}: ${t} is sans-I/O but includes <${inc}> (matches '${p}')")
                        break()
                    endif()
                endforeach()
            endif()
        endforeach()
    endforeach()
    foreach(l IN LISTS T_${t}_LINKS)
        string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" l "${l}")
        string(REGEX REPLACE "^pop3::" "pop3_" name "${l}")
        if((name IN_LIST targets OR name STREQUAL "pop3_version") AND NOT name IN_LIST allowed_${t})
            list(APPEND violations "${t} links ${l} (${t} may use only ${may})")
        endif()
        if(sansio GREATER -1)
            foreach(p IN LISTS POP3_SANSIO_FORBIDDEN_LINKS)
                if(l MATCHES "${p}")
                    list(APPEND violations "${t} is sans-I/O but links ${l} (matches '${p}')")
                    break()
                endif()
            endforeach()
        endif()
    endforeach()
endforeach()

list(LENGTH targets n_targets)
if(violations)
    list(LENGTH violations n)
    string(REPLACE ";" "\n  " text "${violations}")
    message(FATAL_ERROR "layering: ${n} violation(s) (table in cmake/Pop3Layers.cmake, "
        "docs/architecture.md \"Layers\"):\n  ${text}")
endif()
message(STATUS "layering: ${n_targets} targets, ${checked} files, no violation")
