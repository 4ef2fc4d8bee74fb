#!/bin/sh
# make demo: the shipped configuration of Ichikawa City, checked and shown.
# (The simulated field of 27 sites joins once the probes exist.)
set -eu
BUILD=${1:-build}
CTL="$BUILD/fieldwatchctl --config config/ichikawa-2025.yaml"

echo "== Checking config/ichikawa-2025.yaml"
$CTL check-config
echo
echo "== The 27 sites (id, mount, RTX1220 tunnel, router, camera, place)"
$CTL sites
echo
echo "== Contract deadlines of the coming year (due, deliver by, kind, title)"
$CTL deadlines
echo
echo "== A fault detected at 16:30 today: the onsite clocks"
$CTL sla "$(TZ=Asia/Tokyo date +%Y-%m-%d)T16:30"
