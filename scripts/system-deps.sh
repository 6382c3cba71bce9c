#!/usr/bin/env bash
# Installs the system packages Shixun needs, from Debian's archive, when they are missing:
#   run:  ffmpeg (transcoding), fonts-noto-cjk + fontconfig (Chinese PDFs and pictures), Node.js + npm (front-end assets)
#   test: the same, plus Chromium for the browser tests
# As root it installs them with apt-get; otherwise through sudo when available; else it says what to install.
set -euo pipefail
mode=${1:-run}
need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v fc-list >/dev/null 2>&1 || need+=(fontconfig)
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh family 2>/dev/null | head -n 1)" ]; then need+=(fonts-noto-cjk); fi
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ "$mode" = "test" ]; then
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
[ ${#need[@]} -eq 0 ] && exit 0

echo "installing system packages: ${need[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  echo "please install these Debian packages (as root): apt-get install ${need[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
