#!/bin/bash -eu
# ClusterFuzzLite build step: the dependencies the Dockerfile installed, then the common script.
export POP3_CMAKE_ARGS="-DOPENSSL_ROOT_DIR=/opt/openssl3 -DOPENSSL_USE_STATIC_LIBS=ON \
-DBoost_ROOT=/opt/boost -DBOOST_ROOT=/opt/boost -DCMAKE_PREFIX_PATH=/opt/toml"
"$SRC/pop3kit/fuzz/oss_fuzz_build.sh"
