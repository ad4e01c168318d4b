"""Run `verify` on a SLURM cluster: dask-jobqueue submits single-threaded Dask workers as batch jobs, and this
process (on a login node, or in a small job of its own) runs the claims on them as `verify run --scheduler` does.

    pip install -e ".[cluster]"      # l2o-verify with dask-jobqueue, in an environment every node sees
    python examples/slurm/run_on_slurm.py --budget full --out /shared/runs/full --jobs 16 \
        --account myproject --queue cpu --walltime 08:00:00 --memory 8GB

The output folder must be on a filesystem the workers see (they write figures and the shared cache there); this
process alone writes the results, so killing it loses no finished claim: run it again with --resume. Each worker
job runs `python -m distributed.cli.dask_worker` with one thread and the environment this script runs in
(--prologue adds shell lines, e.g. `module load` or `source .venv/bin/activate`). --print-job-script shows the
batch script and submits nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def slurm_cluster(args):
    """A dask_jobqueue.SLURMCluster of single-threaded, single-process worker jobs (each claim computes with one
    thread, as in the serial path, so the numbers do not depend on how many workers ran them)."""
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(cores=1, processes=1, memory=args.memory, walltime=args.walltime, queue=args.queue,
                        account=args.account, job_script_prologue=args.prologue, python=sys.executable,
                        log_directory=args.logs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("ids", nargs="*", help="claim IDs or globs (default: all)")
    parser.add_argument("--budget", default="quick", choices=("quick", "full"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="output folder on a filesystem every worker sees")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--jobs", type=int, default=8, help="worker jobs to submit (one claim at a time each)")
    parser.add_argument("--memory", default="8GB", help="memory of each worker job")
    parser.add_argument("--walltime", default="04:00:00", help="wall time of each worker job")
    parser.add_argument("--queue", help="SLURM partition (#SBATCH -p)")
    parser.add_argument("--account", help="SLURM account (#SBATCH -A)")
    parser.add_argument("--prologue", action="append", default=[], help="a shell line run before each worker")
    parser.add_argument("--logs", default="slurm-logs", help="folder of the worker jobs' logs (not inside --out, "
                                                             "whose cache/ a fresh run clears)")
    parser.add_argument("--print-job-script", action="store_true", help="print the batch script and exit")
    args = parser.parse_args(argv)

    with slurm_cluster(args) as cluster:
        if args.print_job_script:
            print(cluster.job_script())
            return 0
        from verify.display import RunDisplay
        from verify.runner import RunConfig, run

        cluster.scale(jobs=args.jobs)
        config = RunConfig(patterns=args.ids, budget=args.budget, seed=args.seed, out=Path(args.out),
                           resume=args.resume, device="cpu", scheduler=cluster.scheduler_address)
        with RunDisplay() as display:
            document = run(config, display=display)
    return 1 if document["summary"]["unexpected"] else 0


if __name__ == "__main__":
    sys.exit(main())
