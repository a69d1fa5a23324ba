#!/bin/sh
# A minimal MDA for fetchmail and mpop in the interop stage: stores the message it reads on
# standard input, unchanged, as DIR/NNN.msg (numbered in delivery order).
set -eu
dir=$1
n=$(find "$dir" -maxdepth 1 -name '*.msg' | wc -l)
cat > "$dir/$(printf '%03d' $((n + 1))).msg"
