#!/bin/sh
# embed.sh FILE NAME: prints a C file that holds FILE as the array NAME
# (and NAME_len), so the daemon serves its page without files beside it.
set -eu
echo "/* Generated from $1 by scripts/embed.sh; do not edit. */"
echo "#include <stddef.h>"
echo "const unsigned char $2[] = {"
od -An -v -tx1 "$1" | sed 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'
echo "};"
echo "const size_t $2_len = sizeof($2);"
