#!/bin/sh
# The demo under a virtual X server (Xvfb), driven by --script: it steps to a test image, shows
# it on cpu and on opencl:0 / vulkan:0 when present, takes a screenshot, and prints what it
# shows. Checked: the screenshot is a BMP of the window's size with real content, and each
# device's shown top-1 equals what dmx_classifier_run gives for the same image (demo_reference).
# usage: run_demo_test.sh DEMO REFERENCE DIMIX_CLI DATA_DIR WORK_DIR
# Exit 77 (skipped) without SDL2 (the demo was not built) or without Xvfb.
set -u
demo=$1 ref=$2 cli=$3 data=$4 work=$5

if [ -z "$demo" ] || [ ! -x "$demo" ]; then
  echo "demo test skipped: dimix-demo was not built (SDL2 not found: install libsdl2-dev;"
  echo "or the library does not implement dimix/infer.h yet: cmake says which)"
  exit 77
fi
if command -v xvfb-run >/dev/null 2>&1; then
  xvfb="xvfb-run -a -s"
elif command -v Xvfb >/dev/null 2>&1; then
  xvfb=""
else
  echo "demo test skipped: no Xvfb (install xvfb)"
  exit 77
fi

rm -rf "$work" && mkdir -p "$work" || exit 1
# Fashion-MNIST when it is installed, else the synthetic set both the CLI and the demo make.
if [ -e "$data/t10k-images-idx3-ubyte.gz" ] || [ -e "$data/t10k-images-idx3-ubyte" ]; then
  train_data=$data demo_data=$data
else
  echo "note: no Fashion-MNIST in $data: synthetic images"
  train_data=synthetic:1:28:10:512 demo_data=synthetic
fi

# A small model, trained for a few steps: a real checkpoint with learned weights.
"$cli" train --data "$train_data" --model mixer patch=4 dim=32 depth=1 --epochs 1 \
  --max-steps 20 --batch 32 --eval-batches 1 --device cpu --out "$work/run" \
  >"$work/train.log" 2>&1 || { cat "$work/train.log"; echo "FAIL: dimix train"; exit 1; }
ckpt=$work/run/checkpoint.safetensors

devices=cpu
for d in opencl:0 vulkan:0; do
  "$cli" devices 2>/dev/null | awk '{print $1}' | grep -qx "$d" && devices="$devices $d"
done
image=3
script="image:1,next,next,device:cpu"
for d in $devices; do script="$script,device:$d"; done
script="$script,device:cpu,screenshot:$work/shot.bmp,quit"
echo "devices: $devices; script: $script"

set -- "$demo" --software --lazy --ckpt "$ckpt" --data "$demo_data" --script "$script" \
  --print-prediction
if [ -n "$xvfb" ]; then
  $xvfb "-screen 0 1280x1024x24" "$@" >"$work/demo.out" 2>"$work/demo.err"
  rc=$?
else
  # only the Xvfb binary: start one on a free display, it writes the number to fd 3
  Xvfb -displayfd 3 -screen 0 1280x1024x24 -nolisten tcp 3>"$work/display" 2>/dev/null &
  xpid=$!
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$work/display" ] && break; sleep 1; done
  DISPLAY=:$(cat "$work/display") "$@" >"$work/demo.out" 2>"$work/demo.err"
  rc=$?
  kill "$xpid"
fi
cat "$work/demo.out"
[ "$rc" = 0 ] || { cat "$work/demo.err"; echo "FAIL: dimix-demo exited $rc"; exit 1; }

status=0
size=$(awk -F'\t' '$1 == "window" {sub("width=", "", $2); sub("height=", "", $3); print $2, $3}' \
  "$work/demo.out")
grep -q "^screenshot	file=$work/shot.bmp" "$work/demo.out" || { echo "FAIL: no screenshot"; status=1; }
# shellcheck disable=SC2086
"$ref" bmp "$work/shot.bmp" $size || { echo "FAIL: screenshot $size"; status=1; }

for d in $devices; do
  shown=$(awk -F'\t' -v d="device=$d" -v s="source=test:$image" \
    '$1 == "prediction" && $2 == d && $3 == s {sub("class=", "", $4); c = $4} END {print c}' \
    "$work/demo.out")
  want=$("$ref" predict "$ckpt" "$demo_data" "$image" "$d" | sed -n 's/^class=\([0-9]*\).*/\1/p')
  if [ -z "$shown" ] || [ "$shown" != "$want" ]; then
    echo "FAIL: $d shows class '$shown' for test image $image, dmx_classifier_run gives '$want'"
    status=1
  else
    echo "ok: $d shows class $shown for test image $image, as dmx_classifier_run"
  fi
done
[ "$status" = 0 ] && echo "demo test passed"
exit $status
