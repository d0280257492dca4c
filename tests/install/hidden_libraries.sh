#!/bin/sh
# The CPU path with the optional libraries really absent: the consumer program (built against
# the build tree's libdimix.so) runs in a private mount namespace where OpenCL's ICD loader,
# CLBlast, OpenBLAS, zlib and the Vulkan loader are covered by /dev/null, so dlopen cannot load
# them. It must start, find only the CPU devices, classify, and read plain IDX files; gzip IDX
# must fail naming zlib, and GEMM must report dimix's plain loops. Skips (77) where no mount
# namespace can be made (unshare missing or not permitted).
# usage: hidden_libraries.sh CC INCLUDE_DIR LIB_DIR CONSUMER_C WORK_DIR
set -eu
cc=$1 include=$2 libdir=$3 consumer=$4 work=$5
rm -rf "$work" && mkdir -p "$work"
"$cc" "$consumer" -I"$include" -L"$libdir" -ldimix -Wl,-rpath,"$libdir" -o "$work/app"

if ! command -v unshare >/dev/null || ! unshare -rm true 2>/dev/null; then
    echo "SKIPPED: cannot make a private mount namespace here (unshare -rm failed)"
    exit 77
fi
hide=""
for name in libOpenCL.so.1 libclblast.so.1 libopenblas.so.0 libz.so.1 libvulkan.so.1; do
    for path in $(ldconfig -p | awk -v n="$name" '$1 == n {print $NF}'); do
        hide="$hide $(readlink -f "$path")"
    done
done
echo "hiding:$hide"
# Mounts are made private first so the bind mounts stay inside the namespace.
status=0
unshare -rm sh -c 'mount --make-rprivate / && for f in '"$hide"'; do mount --bind /dev/null "$f" || exit 3; done && exec "$0" "$@"' \
    "$work/app" "$work" no-zlib >"$work/out" 2>"$work/err" || status=$?
cat "$work/out"
cat "$work/err"
[ "$status" -eq 0 ] || { echo "FAIL: the consumer exited with $status"; exit 1; }
grep -q "dimix consumer: 2 device(s), cpu add = 11 22 33" "$work/out" ||
    { echo "FAIL: expected exactly the 2 CPU devices with the libraries hidden"; exit 1; }
grep -q "without zlib: .*zlib" "$work/out" || { echo "FAIL: no zlib message"; exit 1; }
grep -q "plain loops" "$work/err" || { echo "FAIL: GEMM did not report the plain loops"; exit 1; }
echo "PASS: libdimix.so ran the CPU path with$hide hidden"
