#!/bin/sh
# The whole GPU check in one command, for a machine with a GPU driver but perhaps no OpenCL or
# Vulkan loader, no CLBlast and no network (docs/gpu.md):
#
#   tools/gpu_check.sh [OUT]      results in OUT (default: $OUT, else ./gpu-out)
#
# Expects a Release build in ./build (built elsewhere is fine: Debian 12 binaries run on newer
# glibc) and, where the machine lacks the run-time libraries, their Debian packages in ./.gpu
# (tools/gpu_check.sh --fetch downloads them on a Debian 12 machine with the network). Writes:
#   devices.txt, parity-<dev>.txt/.json, bench-<dev>.txt/.json, torch-cuda.json/.txt,
#   bench-vs-torch-<dev>.txt, parity/bench-vulkan-N-nosubgroup.txt, env.txt, summary.txt
# Each stage has its own time limit (GPU_CHECK_PARITY_S, GPU_CHECK_BENCH_S, GPU_CHECK_TORCH_S)
# so a hung driver costs one stage, not the run. Exit status: 0 when every stage that ran
# passed, 1 otherwise; a device that is absent is reported as absent, never as passing.
set -u
cd "$(dirname "$0")/.."

if [ "${1:-}" = --fetch ]; then
  mkdir -p .gpu && cd .gpu && exec apt-get download libvulkan1 ocl-icd-libopencl1 libclblast1 \
    libopenblas0-pthread libgomp1
fi

out=${1:-${OUT:-gpu-out}}
mkdir -p "$out"
summary="$out/summary.txt"
: > "$summary"
status=0
note() { echo "$*" | tee -a "$summary"; }

# Run-time libraries from .gpu/*.deb, unpacked beside the build (no root needed).
if ls .gpu/*.deb >/dev/null 2>&1; then
  root=$(pwd)/.gpu/root
  mkdir -p "$root"
  for f in .gpu/*.deb; do dpkg-deb -x "$f" "$root" 2>/dev/null || dpkg -x "$f" "$root"; done
  export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}"
  note "libraries: unpacked $(ls .gpu/*.deb | wc -l) packages from .gpu"
fi

# The NVIDIA OpenCL ICD, when no vendors file names it.
if [ -z "${OCL_ICD_VENDORS:-}" ] && ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
  lib=$(find / -xdev -name 'libnvidia-opencl.so*' 2>/dev/null | head -1)
  if [ -n "$lib" ]; then
    mkdir -p "$out/icd" && echo "$lib" > "$out/icd/nvidia.icd"
    export OCL_ICD_VENDORS=$(pwd)/$out/icd
    note "opencl: ICD $lib"
  fi
fi
# The NVIDIA Vulkan ICD, when the loader's default places do not have one.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  for f in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \
           /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json \
           $(find / -xdev -name 'nvidia_icd*.json' 2>/dev/null | head -1); do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; note "vulkan: ICD $f"; break; fi
  done
fi
{ uname -a; nvidia-smi 2>&1 | head -15; env | grep -E '^(LD_LIBRARY_PATH|OCL_|VK_|DIMIX_)'; } \
  > "$out/env.txt" 2>&1

dimix=build/dimix
if [ ! -x "$dimix" ]; then note "no $dimix: build first"; exit 1; fi
timeout 120 "$dimix" devices > "$out/devices.txt" 2>&1
cat "$out/devices.txt"
gpus=$(awk 'NR > 1 && $3 == "gpu" { print $1 }' "$out/devices.txt")
if [ -z "$gpus" ]; then
  note "no GPU device found by dimix (see devices.txt and env.txt)"
  status=1
fi

torch=""
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  torch=$out/torch-cuda.json
  timeout "${GPU_CHECK_TORCH_S:-120}" python3 tools/bench_torch.py --suite all --device cuda \
    --repeat 3 --json "$torch" > "$out/torch-cuda.txt" 2>&1 || { note "torch cuda bench failed"; torch=""; }
else
  note "pytorch with CUDA: absent (no baseline)"
fi

for dev in $gpus; do
  tag=$(echo "$dev" | tr ':' '-')
  if timeout "${GPU_CHECK_PARITY_S:-90}" "$dimix" parity --device "$dev" \
      --json "$out/parity-$tag.json" > "$out/parity-$tag.txt" 2>&1; then
    note "parity $dev: $(tail -1 "$out/parity-$tag.txt")"
  else
    note "parity $dev: FAILED ($(tail -1 "$out/parity-$tag.txt"))"; status=1
  fi
  base=""
  [ -n "$torch" ] && base="--baseline $torch"
  # shellcheck disable=SC2086
  if timeout "${GPU_CHECK_BENCH_S:-120}" "$dimix" bench --device "$dev" --suite all --repeat 3 \
      --budget 5 --json "$out/bench-$tag.json" $base > "$out/bench-$tag.txt" 2>&1; then
    note "bench $dev: ok"
  else
    note "bench $dev: FAILED or cut short (see bench-$tag.txt)"; status=1
  fi
  # Vulkan: the skinny GEMMs again with DIMIX_VK_SUBGROUP=0 (the tiled fallback), parity and
  # times, to set beside the subgroup kernel's in bench-<dev>.txt.
  case $dev in vulkan:*)
    if DIMIX_VK_SUBGROUP=0 timeout 60 "$dimix" parity --device "$dev" --op gemm \
        > "$out/parity-$tag-nosubgroup.txt" 2>&1 &&
       DIMIX_VK_SUBGROUP=0 timeout 60 "$dimix" bench --device "$dev" --filter gemm_skinny \
        --repeat 5 --budget 5 > "$out/bench-$tag-nosubgroup.txt" 2>&1; then
      note "gemm $dev DIMIX_VK_SUBGROUP=0: $(tail -1 "$out/parity-$tag-nosubgroup.txt")"
    else
      note "gemm $dev DIMIX_VK_SUBGROUP=0: FAILED (see *-$tag-nosubgroup.txt)"; status=1
    fi ;;
  esac
done
note "exit $status"
exit $status
