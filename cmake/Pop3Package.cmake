# CPack: the Debian package pop3kit_<version>_amd64.deb (docs/packaging.md). Build it from a
# build directory configured with -DCMAKE_INSTALL_PREFIX=/usr -DPOP3_MANPAGES=ON (the preset
# "package" does): cpack -G DEB.
set(CPACK_PACKAGE_NAME pop3kit)
set(CPACK_PACKAGE_VENDOR pop3kit)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_GENERATOR DEB)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # pop3kit_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "pop3kit maintainers <pop3kit@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://github.com/pop3kit/pop3kit")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "pop3-conformance (RFC transcripts against POP3 servers and clients;
JUnit, JSON and HTML reports; baselines), pop3-mockserver, pop3-client, pop3-load and pop3-fuzz; the
static libraries, headers and CMake package: find_package(pop3kit) and
pop3kit_add_conformance_test().")
# The programs' shared libraries (libssl3, libc6, libstdc++6, ...) from dpkg-shlibdeps; what
# the CMake package needs to link the static libraries.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "libssl-dev (>= 3), libboost1.81-dev")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3, cmake (>= 3.25)")
include(CPack)
