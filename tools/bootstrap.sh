#!/bin/sh
# One command from a fresh Debian 12 machine (as root) to a result:
#   tools/bootstrap.sh train   install, build, train the default model on the best device
#                              (DIMIX_EPOCHS=N for more epochs, DIMIX_DEVICE=... to choose)
#   tools/bootstrap.sh test    install, build, run the whole test suite
# Installs only missing packages; builds in ./build (Release); reuses an existing build.
set -eu
cd "$(dirname "$0")/.."

job=${1:-}
case "$job" in
  train|test) ;;
  *) echo "usage: tools/bootstrap.sh train|test" >&2; exit 2 ;;
esac

# What building needs (every backend compiles without a driver), and the data of the main job.
BUILD_PACKAGES="build-essential cmake pkg-config libopenblas-dev zlib1g-dev libcmocka-dev
  ocl-icd-opencl-dev opencl-headers libclblast-dev libvulkan-dev glslang-tools spirv-tools
  dataset-fashion-mnist"
# What the test suite adds: the CPU drivers every backend is tested on (PoCL, lavapipe), the
# Vulkan validation layer and oclgrind as referees, Open MPI for data-parallel training
# (tests/mpi; the dimix command is built with MPI when CMake finds it), SDL2 and Xvfb for the
# demo's window test. The main job does not need them: on a machine without a GPU the fast CPU
# device is its best device, and they pull in LLVM.
TEST_PACKAGES="pocl-opencl-icd clinfo mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  oclgrind libopenmpi-dev openmpi-bin xvfb xauth libsdl2-dev"

packages=$BUILD_PACKAGES
[ "$job" = test ] && packages="$packages $TEST_PACKAGES"
missing=""
for p in $packages; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing packages:$missing; run as root (or install them) first" >&2
    exit 1
  fi
  echo "bootstrap: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null

case "$job" in
  train)
    cmake --build build -j "$jobs" --target dimix_cli   # the CLI only: the tests are not needed
    # The default model (a butterfly-MLP Mixer, preset fmnist-bmlp) on Fashion-MNIST, on the
    # best device (the first GPU, else the fast CPU device); prints test accuracy every epoch.
    ./build/dimix devices
    ./build/dimix train --data /usr/share/datasets/fashion-mnist --epochs "${DIMIX_EPOCHS:-3}" \
      --out runs/quickstart
    ;;
  test)
    cmake --build build -j "$jobs"
    cd build
    # PoCL needs a writable kernel cache; a fresh one per run keeps timings honest.
    export POCL_CACHE_DIR="$PWD/pocl-cache"
    ctest --output-on-failure --timeout 1200 -j "$jobs"
    # The part of the sanitizer suite that fits CI's time (docs/testing.md): the CPU build with
    # AddressSanitizer and UBSan, every test labelled `sanitize` (GPU drivers are not built with
    # sanitizers). DIMIX_SANITIZE_SUITE=0 skips it.
    if [ "${DIMIX_SANITIZE_SUITE:-1}" != 0 ]; then
      cd ..
      cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DDIMIX_SANITIZE=address,undefined -DDIMIX_OPENCL=OFF -DDIMIX_VULKAN=OFF >/dev/null
      cmake --build build-sanitize -j "$jobs"
      cd build-sanitize
      ctest --output-on-failure --timeout 1200 -j "$jobs" -L sanitize
    fi
    ;;
esac
