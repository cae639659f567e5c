#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages that `npm ci` and `npm test` use, in one go: the README's set-up and CI
# (.ci/run) both run this script. As root, or with sudo.
#   chromium                      the browser the end-to-end tests drive (Playwright never downloads its own)
#   g++ make python3              build better-sqlite3 where no prebuilt binary can be downloaded
#   libgdcm-tools, dcmtk          independent DICOM decoders the imaging tests compare against; storescu/echoscu push
#                                 images to the receiver, dsrdump reads exported SRs back
#   dicom3tools                   dciodvfy validates the exported SR, SEG and encapsulated PDF
#   poppler-utils                 pdftotext/pdfinfo read exported PDFs back
#   orthanc, orthanc-dicomweb     the archive the DICOM network tests talk to (started by the tests, on loopback)
#   python3-torch/-onnx/-numpy/-pil  the training code's tests and the tiny model pack the inference tests build
set -euo pipefail
PACKAGES=(chromium g++ make python3 libgdcm-tools dcmtk dicom3tools poppler-utils orthanc orthanc-dicomweb
  python3-torch python3-onnx python3-numpy python3-pil)
SUDO=()
if [ "$(id -u)" -ne 0 ]; then SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" > /dev/null
# Debian starts the orthanc service on install where it can; the tests start their own on free loopback ports.
("${SUDO[@]}" service orthanc stop || true) > /dev/null 2>&1
echo "installed: ${PACKAGES[*]}"
