#!/bin/sh
# embed.sh - turns a text file into a C source defining `const char SYMBOL[]` with its
# content, so the library carries its schemas and does not depend on installed files.
# Usage: embed.sh FILE SYMBOL > out.c
set -eu
file=$1
sym=$2
printf '/* Generated from %s by tools/embed.sh. Do not edit. */\n' "$file"
printf 'const char %s[] =\n' "$sym"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$file"
printf '    ;\n'
