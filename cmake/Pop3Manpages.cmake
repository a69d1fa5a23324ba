# With POP3_MANPAGES: man pages for the installed programs, generated at build time from their
# --help and --version by help2man (Debian's help2man), gzipped and installed in man1.
if(NOT POP3_MANPAGES)
    return()
endif()
find_program(POP3_HELP2MAN help2man REQUIRED)
find_program(POP3_GZIP gzip REQUIRED)
set(pop3_man_pages)
function(pop3_man_page program description)
    set(page ${PROJECT_BINARY_DIR}/man/${program}.1)
    add_custom_command(OUTPUT ${page}.gz
        COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
        COMMAND ${POP3_HELP2MAN} --no-info --locale C.UTF-8 --name ${description} --output ${page}
                $<TARGET_FILE:${program}>
        COMMAND ${POP3_GZIP} -9nf ${page}
        DEPENDS ${program}
        COMMENT "Generating the man page of ${program} from its --help"
        VERBATIM)
    set(pop3_man_pages ${pop3_man_pages} ${page}.gz PARENT_SCOPE)
endfunction()
pop3_man_page(pop3-client "a POP3 client for scripts: pop3kit's client library as a program")
pop3_man_page(pop3-mockserver "a scriptable mock POP3 server")
pop3_man_page(pop3-conformance
    "POP3 conformance suite: RFC transcripts against servers and clients")
pop3_man_page(pop3-load "a load generator for POP3 servers")
pop3_man_page(pop3-fuzz "stateful black-box fuzzing of live POP3 servers")
add_custom_target(pop3_manpages ALL DEPENDS ${pop3_man_pages})
install(FILES ${pop3_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
