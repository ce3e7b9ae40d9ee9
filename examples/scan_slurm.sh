#!/bin/bash
# Production phase diagram on a SLURM cluster.
#
# This job is the driver: it holds the Zarr store and asks dask-jobqueue for worker jobs
# (here 25 jobs x 4 cores = 100 single-threaded worker processes). Each worker computes whole
# blocks of trials; the driver writes each finished block to the store. Submit it again (or
# rerun the same command) after a time-out or a crash: finished blocks are kept.
#
#SBATCH --job-name=organics-driver
#SBATCH --cpus-per-task=1
#SBATCH --mem=8GB
#SBATCH --time=48:00:00

set -euo pipefail
source "$HOME/organics/.venv/bin/activate"      # pip install 'organics[cluster]'

organics scan --preset stabilization-delocalized --out "$SCRATCH/phase_delocalized.zarr" \
    --cluster slurm --jobs 25 --cores 4 --memory 16GB --walltime 12:00:00 --queue cpu

organics plot "$SCRATCH/phase_delocalized.zarr" --out "$SCRATCH/phase_delocalized_figures"

# Alternative: start a scheduler and workers yourself (dask scheduler / dask worker) and point
# the scan at it:  organics scan --preset stabilization-delocalized --out ... --scheduler tcp://HOST:8786
