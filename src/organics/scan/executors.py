r"""Where the blocks of a scan run: in this process, or on a Dask cluster (local, remote, SLURM/PBS).

An executor has one method, ``map(fn, items)``, that yields ``(item, fn(item))`` pairs as they
finish, in any order. It knows nothing about models or stores: the runner
(:func:`organics.scan.runner.run_scan`) gives it ``functools.partial(run_block, spec)`` and the
pending blocks, and writes each result to the store in the calling process as it arrives. Every
block's result depends only on the spec and the block, so all executors produce the same dataset.

* :class:`LocalExecutor` — blocks one after the other in this process (each block is itself a
  vectorised, compiled batch).
* :class:`DaskExecutor` — one task per block on a ``distributed`` cluster. A worker that dies
  loses only the blocks it was running: the scheduler reruns them on another worker (and a block
  that is never written is redone by the next run of the scan anyway).
* :func:`dask_client` — connects to ``tcp://HOST:PORT``, or starts a
  ``distributed.LocalCluster`` (one single-threaded worker process per core, TCP on loopback), or a
  ``dask_jobqueue`` SLURM/PBS cluster of ``jobs`` batch jobs with ``cores`` worker processes each.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

#: Cluster kinds accepted by :func:`dask_client`.
CLUSTERS: tuple[str, ...] = ("local", "slurm", "pbs")


class LocalExecutor:
    """Run the items one after the other in this process."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        for item in items:
            yield item, fn(item)


class DaskExecutor:
    """Run each item as one task on a ``distributed.Client``; yield results as they complete."""

    def __init__(self, client):
        self.client = client

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
        from distributed import as_completed

        items = list(items)
        futures = {self.client.submit(fn, item, pure=False): item for item in items}
        for future in as_completed(futures):
            item = futures.pop(future)
            yield item, future.result()
            future.release()


def _jobqueue_cluster(kind: str, *, jobs: int, cores: int, memory: str, walltime: str, queue: str | None,
                      account: str | None, job_extra: list[str] | None):  # fmt: skip
    try:
        import dask_jobqueue
    except ImportError:
        raise RuntimeError(
            f"--cluster {kind} needs dask-jobqueue; install it with: pip install 'organics[cluster]'"
        ) from None
    cls = dask_jobqueue.SLURMCluster if kind == "slurm" else dask_jobqueue.PBSCluster
    cluster = cls(
        cores=cores,
        processes=cores,  # one single-threaded worker process per core (JAX runs one thread each)
        memory=memory,
        walltime=walltime,
        queue=queue,
        account=account,
        job_extra_directives=job_extra or [],
    )
    cluster.scale(jobs=jobs)
    return cluster


def make_cluster(
    kind: str,
    *,
    workers: int = 2,
    jobs: int = 1,
    cores: int = 4,
    memory: str = "16GB",
    walltime: str = "04:00:00",
    queue: str | None = None,
    account: str | None = None,
    job_extra: list[str] | None = None,
):
    """A Dask cluster object: ``"local"`` (``workers`` processes), ``"slurm"`` or ``"pbs"`` (dask-jobqueue)."""
    if kind not in CLUSTERS:
        raise ValueError(f"cluster must be one of {', '.join(CLUSTERS)}; got {kind!r}")
    if kind == "local":
        from distributed import LocalCluster

        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be an integer >= 1; got {workers!r}")
        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            protocol="tcp",
            dashboard_address=None,
        )
    for name, value in (("jobs", jobs), ("cores", cores)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return _jobqueue_cluster(
        kind,
        jobs=jobs,
        cores=cores,
        memory=memory,
        walltime=walltime,
        queue=queue,
        account=account,
        job_extra=job_extra,
    )


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, cluster: str | None = None, **cluster_options) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler`` (an address) or a new ``cluster`` (closed on exit)."""
    from distributed import Client

    if (scheduler is None) == (cluster is None):
        raise ValueError("give exactly one of scheduler (an address like tcp://host:8786) and cluster")
    if scheduler is not None:
        with Client(scheduler) as client:
            yield client
        return
    with make_cluster(cluster, **cluster_options) as made, Client(made) as client:
        yield client
