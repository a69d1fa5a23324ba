# Use ccache when it is installed: CI and sessions rebuild the same sources often.
find_program(POP3_CCACHE ccache)
if(POP3_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${POP3_CCACHE})
endif()
