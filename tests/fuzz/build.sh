#!/bin/sh
# Build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, AddressSanitizer and UndefinedBehaviorSanitizer.
# Usage: tests/fuzz/build.sh [OUTDIR]   (default build-fuzz; prints the targets' paths, one a line)
# core/*.c is compiled here too (instrumented for coverage), outside meson: meson builds the project with one
# compiler, and the fuzzers need clang's. Objects are rebuilt when their source or any header is newer.
set -eu
cd "$(dirname "$0")/../.."
out=${1:-build-fuzz}
cc=${CC_FUZZ:-clang}
mkdir -p "$out/obj"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-std=c11 -D_GNU_SOURCE -DUGITFS_VERSION=\"fuzz\" -g -O1 -Wall -Wextra $san -Icore"
libs="-lz -ldeflate -lcrypto -lpthread"

newest_header=$(ls -t core/*.h tests/fuzz/*.h | head -n 1)
compile() { # SOURCE OBJECT EXTRA-FLAGS
	if [ ! -e "$2" ] || [ "$1" -nt "$2" ] || [ "$newest_header" -nt "$2" ]; then
		$cc $cflags $3 -c "$1" -o "$2" || { echo "fuzz build: $1 failed" >&2; exit 1; }
	fi
}

objs=""
for src in core/*.c; do
	obj="$out/obj/core_$(basename "$src" .c).o"
	compile "$src" "$obj" "-fsanitize=fuzzer-no-link"
	objs="$objs $obj"
done
compile tests/fuzz/fuzz_util.c "$out/obj/fuzz_util.o" "-fsanitize=fuzzer-no-link -Werror"
objs="$objs $out/obj/fuzz_util.o"

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	[ "$name" = fuzz_util ] && continue
	compile "$src" "$out/obj/$name.o" "-fsanitize=fuzzer-no-link -Werror"
	if [ ! -e "$out/$name" ] || [ -n "$(find $objs "$out/obj/$name.o" -newer "$out/$name" | head -n 1)" ]; then
		# shellcheck disable=SC2086
		$cc $san -fsanitize=fuzzer -o "$out/$name" "$out/obj/$name.o" $objs $libs ||
			{ echo "fuzz build: linking $name failed" >&2; exit 1; }
	fi
	echo "$out/$name"
done
