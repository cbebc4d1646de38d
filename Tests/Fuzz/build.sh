#!/usr/bin/env bash
# Builds the libFuzzer targets of Tests/Fuzz/Targets into .build/fuzz (docs/reliability.md).
#
# A SwiftPM executable cannot take `-sanitize=fuzzer` (libFuzzer brings its own main), so
# WindowCore is compiled once with the fuzzer's coverage and AddressSanitizer into a static
# library, and each target is linked against it; the two runtime files a target needs
# (the HTTP request parser, the pricing-era file) are compiled into the target itself.
# libFuzzer's runtime ships with the toolchain (usr/lib/clang/*/lib/linux/libclang_rt.fuzzer*).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.build/fuzz
mkdir -p "$out/core"
flags=(-sanitize=fuzzer,address -parse-as-library -O -g)
# The gold linker warns about every ASan helper symbol; the warnings mean nothing.
quiet() { "$@" 2> >(grep -v 'ld.gold: warning: Cannot export local symbol' >&2); }

echo "fuzz: WindowCore"
quiet swiftc "${flags[@]}" -enable-builtin-module -enable-testing -module-name WindowCore \
  -emit-library -static -emit-module -emit-module-path "$out/core/WindowCore.swiftmodule" \
  -o "$out/core/libWindowCore.a" $(find Sources/WindowCore -name '*.swift' | sort)

target() {
  local name=$1; shift
  echo "fuzz: $name"
  quiet swiftc "${flags[@]}" -I "$out/core" -module-name "${name//-/_}Fuzz" "$@" "$out/core/libWindowCore.a" -o "$out/$name"
}
target ingest Tests/Fuzz/Targets/IngestFuzz.swift
target http Tests/Fuzz/Targets/HTTPFuzz.swift Sources/WindowRuntime/HTTP/HTTPRequest.swift
target statefile Tests/Fuzz/Targets/StateFileFuzz.swift
target eras Tests/Fuzz/Targets/PricingErasFuzz.swift Sources/WindowRuntime/Advice/PricingErasFile.swift
