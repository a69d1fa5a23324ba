# pop3kit_add_conformance_test(): the conformance suite as one ctest test, from the installed
# package (find_package(pop3kit) includes this file; docs/packaging.md).
#
#   pop3kit_add_conformance_test(NAME name
#       SERVER_COMMAND command [args...]   # a server: started for the test, stopped after it
#     | CLIENT_COMMAND template            # a client: pop3-conformance client --command template
#       [PORT port]            # the server listens on this fixed port (else it prints its port
#                              # on stdout: "listening ... HOST:PORT", or a line holding only
#                              # PORT, or else the first HOST:PORT)
#       [HOST host] [USER user] [PASSWORD password]  # default 127.0.0.1, user, pass
#       [STARTTLS] [TLS] [CA file] [INSECURE]         # the server's TLS, as pop3-conformance's
#       [EXPECT file] [EXPECT_SECTION name]           # the baseline: any change fails the test
#       [ONLY pattern...]      # case id globs (pop3-conformance --only)
#       [ARGS args...]         # more pop3-conformance options
#       [ENVIRONMENT VAR=value...] [STARTUP_TIMEOUT seconds] [TIMEOUT seconds]
#       [OUTPUT_DIR dir])      # JUnit and HTML reports: dir/NAME.xml, dir/NAME.html
#                              # (default: the current binary dir's pop3kit-conformance/)
set(_pop3kit_gate_script "${CMAKE_CURRENT_LIST_DIR}/pop3kit-server-gate.sh")

function(pop3kit_add_conformance_test)
    cmake_parse_arguments(PARSE_ARGV 0 arg "STARTTLS;TLS;INSECURE"
        "NAME;PORT;HOST;USER;PASSWORD;CA;EXPECT;EXPECT_SECTION;STARTUP_TIMEOUT;TIMEOUT;OUTPUT_DIR;CLIENT_COMMAND"
        "SERVER_COMMAND;ONLY;ARGS;ENVIRONMENT")
    if(arg_UNPARSED_ARGUMENTS)
        message(FATAL_ERROR "pop3kit_add_conformance_test: unknown arguments ${arg_UNPARSED_ARGUMENTS}")
    endif()
    if(NOT arg_NAME)
        message(FATAL_ERROR "pop3kit_add_conformance_test: NAME is required")
    endif()
    if((arg_SERVER_COMMAND AND arg_CLIENT_COMMAND) OR (NOT arg_SERVER_COMMAND AND NOT arg_CLIENT_COMMAND))
        message(FATAL_ERROR "pop3kit_add_conformance_test(${arg_NAME}): give SERVER_COMMAND or CLIENT_COMMAND")
    endif()
    if(NOT arg_OUTPUT_DIR)
        set(arg_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/pop3kit-conformance")
    endif()
    file(MAKE_DIRECTORY "${arg_OUTPUT_DIR}")

    set(suite_args --no-color --junit "${arg_OUTPUT_DIR}/${arg_NAME}.xml"
                   --html "${arg_OUTPUT_DIR}/${arg_NAME}.html")
    if(arg_EXPECT)
        get_filename_component(expect "${arg_EXPECT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
        list(APPEND suite_args --expect "${expect}")
        if(arg_EXPECT_SECTION)
            list(APPEND suite_args --expect-section "${arg_EXPECT_SECTION}")
        endif()
    endif()
    foreach(pattern IN LISTS arg_ONLY)
        list(APPEND suite_args --only "${pattern}")
    endforeach()

    if(arg_CLIENT_COMMAND)
        add_test(NAME ${arg_NAME}
            COMMAND "${POP3KIT_CONFORMANCE_EXECUTABLE}" client --command "${arg_CLIENT_COMMAND}"
                    ${suite_args} ${arg_ARGS})
    else()
        foreach(flag STARTTLS TLS INSECURE)
            if(arg_${flag})
                string(TOLOWER "--${flag}" option)
                list(APPEND suite_args ${option})
            endif()
        endforeach()
        if(arg_CA)
            list(APPEND suite_args --ca "${arg_CA}")
        endif()
        set(gate_args)
        foreach(setting PORT HOST USER PASSWORD STARTUP_TIMEOUT)
            if(DEFINED arg_${setting})
                string(TOLOWER "--${setting}" option)
                string(REPLACE "_" "-" option "${option}")
                list(APPEND gate_args ${option} "${arg_${setting}}")
            endif()
        endforeach()
        if(arg_TLS)
            list(APPEND gate_args --scheme pop3s)
        endif()
        add_test(NAME ${arg_NAME}
            COMMAND bash "${_pop3kit_gate_script}" ${gate_args}
                    --conformance "${POP3KIT_CONFORMANCE_EXECUTABLE}" ${suite_args} ${arg_ARGS}
                    --server ${arg_SERVER_COMMAND})
    endif()
    if(arg_ENVIRONMENT)
        set_tests_properties(${arg_NAME} PROPERTIES ENVIRONMENT "${arg_ENVIRONMENT}")
    endif()
    if(arg_TIMEOUT)
        set_tests_properties(${arg_NAME} PROPERTIES TIMEOUT ${arg_TIMEOUT})
    endif()
endfunction()
