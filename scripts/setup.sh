#!/usr/bin/env bash
# Install the Debian packages tsflow needs to build, test and demo, if any are missing.
# Idempotent: when everything is present it only asks dpkg and exits in well under a second;
# `apt-get update` runs only when something must be installed. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  gcc meson ninja-build pkg-config git
  # libraries (see README: why each one)
  libgsl-dev libopenblas-dev libcsv-dev libhdf5-dev hdf5-tools libinih-dev
  # IANA time zones (tz = Europe/Berlin) are read from the system's zoneinfo
  tzdata
  # MPI: the -Dmpi=enabled build and its tests (mpirun); never libhdf5-openmpi-dev, which would
  # switch the system's hdf5.pc to the MPI HDF5 (tsflow asks for hdf5-serial by name anyway)
  openmpi-bin libopenmpi-dev
  # tests, sanitizers, fuzzing, formatting, leak checks
  libcriterion-dev clang-14 libclang-rt-14-dev clang-format valgrind
  # the Python peers the tests compare against, in Debian's /usr/bin/python3
  python3 python3-numpy python3-pandas python3-tables python3-h5py python3-xarray
  python3-h5netcdf python3-torch python3-scipy
  # R's HDF5 packages, for the tests that write and read files as R users do
  r-cran-hdf5r r-bioc-rhdf5
  # R's forecast package: the reference for the ets and theta baselines
  r-base-core r-cran-forecast
  # public short series for scripts/measure_defaults.py
  python3-statsmodels
  # plots
  gnuplot-nox fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  [[ "$status" == ii* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
