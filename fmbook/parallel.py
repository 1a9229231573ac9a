"""Data parallelism on one machine with ``torch.distributed`` (gloo), for chapter 10.

A worker process cannot run a function defined in a notebook: the ``spawn`` start
method pickles the function by its module and name, and a notebook's ``__main__``
cannot be imported by the child. So the workers live here:

* :func:`gradient_step` runs one training step of a small model on this process's
  shard of a batch, all-reduces (averages) the gradients across processes and
  returns them, as ``DistributedDataParallel`` does under the hood.
* :func:`throughput_steps` times a number of such steps and returns samples per second.
* :func:`launch` starts ``world_size`` processes (``torch.multiprocessing``, ``spawn``),
  joins the process group on ``127.0.0.1`` over the loopback interface
  (``GLOO_SOCKET_IFNAME=lo``), collects each rank's result and always ends every
  process it started, also when a worker fails or the run times out.
* :func:`measure_throughput` compares 1 and 2 (or more) processes.

Everything here runs on CPUs with the gloo backend; on GPUs the backend is nccl and
each process owns one device (see the chapter for the ``torchrun`` command).
"""

from __future__ import annotations

import os
import queue as queue_module
import socket
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

HOST = "127.0.0.1"
"""Every process of a single-machine run meets at this address."""


class PortInUseError(RuntimeError):
    """The rendezvous port is taken by another program (or a run that has not ended)."""


class WorkerError(RuntimeError):
    """A worker process failed; the message carries its traceback."""


def loopback_interface() -> str:
    """Name of the loopback network interface that gloo should use (``lo`` on Linux, ``lo0`` on macOS)."""
    return "lo0" if sys.platform == "darwin" else "lo"


def available_cpus() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(os.cpu_count() or 1, 1)


def check_world_size(world_size: int, *, limit: int | None = None) -> int:
    """Validate a process count against what the machine allows.

    Parameters
    ----------
    world_size : int
        Number of processes asked for.
    limit : int, optional
        The most processes allowed; by default :func:`available_cpus` (one process per
        core: more would only queue for the same cores, and each loads its own copy of
        the model).

    Returns
    -------
    int
        ``world_size`` as an int.

    Raises
    ------
    ValueError
        For fewer than 1 process, or more than ``limit``.
    """
    if isinstance(world_size, bool) or int(world_size) != world_size:
        raise ValueError(f"world_size must be a whole number of processes, got {world_size!r}")
    world_size = int(world_size)
    limit = available_cpus() if limit is None else int(limit)
    if world_size < 1:
        raise ValueError(f"world_size must be at least 1, got {world_size}")
    if world_size > limit:
        raise ValueError(
            f"asked for {world_size} processes but this machine allows at most {limit} "
            f"({available_cpus()} CPU cores available to this process): use world_size <= {limit}, "
            f"or run across several machines with torchrun --nnodes")
    return world_size


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when a TCP server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, int(port)))
        except OSError:
            return False
    return True


def check_port(port: int, host: str = HOST) -> int:
    """Return ``port`` if it is free on ``host``, else raise :class:`PortInUseError`."""
    if isinstance(port, bool) or int(port) != port or not 1 <= int(port) <= 65535:
        raise ValueError(f"port must be an integer in 1..65535, got {port!r}")
    if not port_is_free(int(port), host):
        raise PortInUseError(
            f"port {port} on {host} is already in use (another program, or an earlier run that has not "
            f"ended): pass port=None to pick a free one, or choose another port")
    return int(port)


def free_port(host: str = HOST) -> int:
    """A TCP port that is free on ``host`` right now (chosen by the operating system)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- workers


def _shard(x, rank: int, world_size: int):
    """This rank's contiguous, equal-sized part of a batch."""
    n = len(x)
    if n % world_size:
        raise ValueError(f"a batch of {n} cannot be split into {world_size} equal shards: "
                         f"use a batch size divisible by the number of processes")
    per = n // world_size
    return x[rank * per:(rank + 1) * per]


def _all_reduce_mean(model, world_size: int) -> None:
    """Average the gradients of ``model`` across all processes (what DDP does after backward)."""
    import torch.distributed as dist

    for p in model.parameters():
        if p.grad is not None and world_size > 1:
            dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
            p.grad /= world_size


def gradient_step(rank: int, world_size: int, model, x, y) -> dict[str, Any]:
    """One data-parallel training step: gradients of this rank's shard, averaged over ranks.

    Each process computes the mean cross-entropy on its own equal shard of ``(x, y)``,
    back-propagates, and all-reduces the gradients (sum, divided by ``world_size``).
    Since the shards have equal size, the average of the shard means is the mean over
    the whole batch, so every rank ends with the gradient one process would compute on
    the concatenated batch. (With dropout the processes draw different masks, so compare
    such models in ``eval`` mode or without dropout.)

    Parameters
    ----------
    rank, world_size : int
        Supplied by :func:`launch`.
    model : torch.nn.Module
        Built from ``torch.nn`` layers (it is pickled into the worker).
    x, y : torch.Tensor
        The whole batch (inputs, integer labels); each rank takes its shard.

    Returns
    -------
    dict
        ``"grads"`` (parameter name to numpy array, after averaging), ``"loss"`` (this
        rank's shard loss) and ``"shard_size"``.
    """
    import torch
    import torch.nn.functional as F

    xs, ys = _shard(x, rank, world_size), _shard(y, rank, world_size)
    model.train()
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xs), ys)
    loss.backward()
    _all_reduce_mean(model, world_size)
    with torch.no_grad():
        grads = {n: p.grad.detach().cpu().numpy().copy() for n, p in model.named_parameters() if p.grad is not None}
    return {"grads": grads, "loss": loss.item(), "shard_size": len(xs)}


def throughput_steps(rank: int, world_size: int, model, x, y, steps: int, lr: float = 0.01,
                     warmup: int = 2) -> dict[str, float]:
    """Train ``steps`` data-parallel SGD steps on this rank's batch and time them.

    Every rank uses its own copy of the batch ``(x, y)`` (a *per-process* batch: with
    more processes, more samples are processed per step). One PyTorch thread per
    process, so that 1 process uses one core and 2 processes use two.

    Returns
    -------
    dict
        ``"seconds"`` (wall clock of the timed steps on this rank), ``"samples"``
        (samples this rank processed) and ``"allreduce_seconds"`` (time spent averaging).
    """
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    model.train()
    comm = 0.0
    t0 = 0.0
    for step in range(int(warmup) + int(steps)):
        if step == warmup:
            if world_size > 1:
                import torch.distributed as dist

                dist.barrier()
            t0, comm = time.perf_counter(), 0.0
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        c0 = time.perf_counter()
        _all_reduce_mean(model, world_size)
        comm += time.perf_counter() - c0
        opt.step()
    return {"seconds": time.perf_counter() - t0, "samples": float(len(x) * steps), "allreduce_seconds": comm}


# --------------------------------------------------------------------------- launcher


def _entry(rank: int, fn: Callable, world_size: int, port: int, results, args: tuple) -> None:
    """What each spawned process runs: join the group, call ``fn``, report, leave the group."""
    os.environ.update({"MASTER_ADDR": HOST, "MASTER_PORT": str(port), "RANK": str(rank),
                       "WORLD_SIZE": str(world_size), "GLOO_SOCKET_IFNAME": loopback_interface()})
    import torch.distributed as dist

    joined = False
    try:
        dist.init_process_group("gloo", init_method=f"tcp://{HOST}:{port}", rank=rank, world_size=world_size)
        joined = True
        results.put((rank, "ok", fn(rank, world_size, *args)))
    except BaseException:
        results.put((rank, "error", traceback.format_exc()))
        raise
    finally:
        if joined:
            dist.destroy_process_group()


def launch(fn: Callable, world_size: int, *args: Any, port: int | None = None,
           timeout: float = 120.0, max_processes: int | None = None) -> list[Any]:
    """Run ``fn(rank, world_size, *args)`` in ``world_size`` processes joined by gloo.

    Parameters
    ----------
    fn : callable
        A function defined at module level in an importable module (not in a
        notebook), e.g. :func:`gradient_step`.
    world_size : int
        Number of processes (checked by :func:`check_world_size`).
    *args
        Passed to ``fn`` after ``rank`` and ``world_size``; pickled into every process.
    port : int, optional
        The rendezvous port on 127.0.0.1. None picks a free one; a given port that is
        already in use raises :class:`PortInUseError` before anything starts.
    timeout : float, default 120
        Seconds before the run is abandoned (every process is then ended).
    max_processes : int, optional
        Overrides the machine's limit (see :func:`check_world_size`).

    Returns
    -------
    list
        ``fn``'s return value per rank, in rank order.

    Raises
    ------
    ValueError, PortInUseError
        For a bad process count or a taken port.
    WorkerError
        When a worker raises (its traceback is in the message).
    TimeoutError
        When the processes have not finished within ``timeout``.
    """
    import torch.multiprocessing as mp

    if getattr(fn, "__module__", "__main__") == "__main__" or "<locals>" in getattr(fn, "__qualname__", ""):
        raise ValueError(
            f"{getattr(fn, '__qualname__', fn)!r} is defined in a notebook or script (__main__) or inside a "
            f"function: spawned processes cannot import it. Put the worker in a module (as fmbook.parallel does)")
    world_size = check_world_size(world_size, limit=max_processes)
    port = free_port() if port is None else check_port(port)
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    procs = []
    got: dict[int, Any] = {}
    try:
        for rank in range(world_size):
            p = ctx.Process(target=_entry, args=(rank, fn, world_size, port, results, tuple(args)), daemon=True)
            p.start()
            procs.append(p)
        deadline = time.monotonic() + float(timeout)
        while len(got) < world_size:
            try:
                rank, status, value = results.get(timeout=0.2)
            except queue_module.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead and results.empty():
                    time.sleep(0.5)  # give a failing worker's traceback time to arrive
                    if results.empty():
                        raise WorkerError(f"a worker process exited with code {dead[0].exitcode} "
                                          f"without reporting (killed, or out of memory?)") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {world_size} processes did not finish within {timeout:g} s; "
                                       f"all were ended") from None
                continue
            if status == "error":
                raise WorkerError(f"worker rank {rank} of {world_size} failed:\n{value}")
            got[rank] = value
        for p in procs:
            p.join(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():  # pragma: no cover - a process that ignores SIGTERM
                p.kill()
                p.join(timeout=5)
        results.close()
        results.join_thread()
    return [got[r] for r in range(world_size)]


def measure_throughput(model, x, y, process_counts: Sequence[int] = (1, 2), *, steps: int = 20,
                       timeout: float = 300.0) -> list[dict[str, float]]:
    """Samples per second of data-parallel training for each process count.

    Each process trains on its own batch ``(x, y)`` with one thread (see
    :func:`throughput_steps`); the throughput of a run is the samples of all ranks
    divided by the slowest rank's time.

    Returns
    -------
    list of dict
        Per process count: ``processes``, ``samples_per_second``, ``seconds``,
        ``allreduce_share`` (the share of time spent averaging gradients).
    """
    rows = []
    for n in process_counts:
        out = launch(throughput_steps, n, model, x, y, int(steps), timeout=timeout)
        seconds = max(o["seconds"] for o in out)
        samples = sum(o["samples"] for o in out)
        rows.append({"processes": int(n), "samples_per_second": samples / seconds, "seconds": seconds,
                     "allreduce_share": float(np.mean([o["allreduce_seconds"] / o["seconds"] for o in out]))})
    return rows


__all__ = ["HOST", "PortInUseError", "WorkerError", "available_cpus", "check_port", "check_world_size",
           "free_port", "gradient_step", "launch", "loopback_interface", "measure_throughput",
           "port_is_free", "throughput_steps"]
