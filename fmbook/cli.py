"""The ``fmbook`` command: ``doctor``, ``data list|fetch|verify``, ``run``, ``book``."""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from . import config
from ._meta import __version__
from .data import REGISTRY, DataError, fetch, get_dataset, status
from .profiles import PROFILES, UnknownProfileError, get_profile


def _doctor(args) -> int:
    from .device import describe
    from .ledger import library_versions, results_dir

    print(f"fmbook {__version__}")
    print(f"profile: {get_profile()} ({config.PROFILE}; one of {', '.join(PROFILES)})")
    seed = config.seed_override()
    print(f"seed: {'each notebook its own' if seed is None else seed} ({config.SEED})")
    print(f"device: {describe(include_tensorflow=args.tensorflow)}")
    print("libraries: " + ", ".join(f"{k} {v}" for k, v in library_versions().items()))
    print(f"data mirror ({config.DATA}): {config.data_mirror() or 'not set'}")
    print(f"data cache ({config.CACHE}): {config.cache_dir()}")
    print(f"downloads ({config.OFFLINE}): {'forbidden' if config.offline() else 'allowed'}")
    print(f"results ledger ({config.RESULTS}): {results_dir()}")
    print("data sets:")
    for name in sorted(REGISTRY):
        ds = REGISTRY[name]
        if ds.bundled_with:
            state = f"bundled with {ds.bundled_with}"
        else:
            states = status(ds)
            state = ", ".join(f"{f}: {s}" for f, s in states.items())
        print(f"  {name:<18} {state}")
    return 0


def _data(args) -> int:
    names = list(args.names or sorted(REGISTRY))
    names += [n for n in (getattr(args, "require", None) or []) if n not in names]
    try:
        datasets = [get_dataset(n) for n in names]
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.action == "list":
        for ds in datasets:
            size = sum(f.size or 0 for f in ds.files)
            where = f"bundled with {ds.bundled_with}" if ds.bundled_with else f"{size / 1e6:.1f} MB"
            print(f"{ds.name:<18} {where:<24} {ds.description}")
            print(f"{'':<18} licence: {ds.licence}")
        return 0
    failed = 0
    for ds in datasets:
        if ds.bundled_with:
            print(f"{ds.name}: bundled with {ds.bundled_with}, nothing to {args.action}")
            continue
        if args.action == "verify":
            required = ds.name in (args.require or [])
            for fname, state in status(ds).items():
                if state in ("mirror", "cache"):
                    print(f"{ds.name}/{fname}: ok ({state})")
                elif state == "missing":
                    failed += required
                    print(f"{ds.name}/{fname}: absent" + (" (required: FAILED; fetch it with "
                          f"`fmbook data fetch {ds.name}`)" if required else " (not checked)"))
                else:
                    failed += 1
                    print(f"{ds.name}/{fname}: FAILED: {state}, does not match its sha256")
        else:  # fetch
            try:
                for fname, path in fetch(ds).items():
                    print(f"{ds.name}/{fname}: {path}")
            except DataError as exc:
                failed += 1
                print(f"error: {exc}", file=sys.stderr)
    return 1 if failed else 0


def _print_run(r: dict) -> None:
    state = "ok" if r["ok"] else "FAILED"
    print(f"{Path(r['notebook']).name} [{r['profile']}] {state} in {r['seconds']:.0f} s -> {r['executed']}")
    if r["entry"]:
        for k, v in r["entry"]["metrics"].items():
            band = r["entry"]["expected"].get(k)
            print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}", f"(expected {band})" if band else "")
    if r["error"]:
        print(f"  error: {r['error']}")


def _seed(args) -> int | None:
    """``--seed``, else ``FMBOOK_SEED``, else None (each notebook its own seed)."""
    if args.seed is not None:
        if args.seed < 0:
            raise config.ConfigError(f"--seed must be a non-negative integer, got {args.seed}")
        return args.seed
    return config.seed_override()


def _run(args) -> int:
    from .notebook import report, run_notebook

    ok = True
    runs = []
    seed = _seed(args)
    for nb in args.notebooks:
        r = run_notebook(nb, profile=args.profile, seed=seed, output_dir=args.output_dir,
                         timeout=args.cell_timeout)
        _print_run(r)
        runs.append(r)
        ok &= r["ok"]
    print(f"report: {report(args.output_dir, runs)}")
    return 0 if ok else 1


def _book(args) -> int:
    from .notebook import chapters, report, run_notebook

    runs = []
    seed = _seed(args)
    for nb in chapters(args.notebooks_dir):
        r = run_notebook(nb, profile=args.profile, seed=seed, output_dir=args.output_dir,
                         timeout=args.cell_timeout)
        _print_run(r)
        runs.append(r)
    path = report(args.output_dir, runs)
    print(f"report: {path}")
    print(path.read_text())
    return 0 if all(r["ok"] for r in runs) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fmbook", description="The fmbook workbook's command line.")
    parser.add_argument("--version", action="version", version=f"fmbook {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("doctor", help="versions, device, profile and which data sets are present")
    p.add_argument("--tensorflow", action="store_true", help="also list TensorFlow's devices (slower)")
    p.set_defaults(func=_doctor)

    p = sub.add_parser(
        "data", help="list, fetch or verify data sets",
        description="list: the registry. fetch: download, verify and cache. verify: check the local "
                    "copies against their sha256. A data set that is absent is reported as absent and "
                    "is not a failure; verify exits non-zero only when a present file fails its "
                    "checksum, or when --require names a data set that is absent.")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("names", nargs="*", help="data set names (default: all)")
    p.add_argument("--require", action="append", metavar="NAME",
                   help="verify: fail when data set NAME is absent (repeatable)")
    p.set_defaults(func=_data)

    p = sub.add_parser("run", help="execute notebooks headless, save executed copies, record metrics")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--profile", choices=PROFILES, default=None)
    p.add_argument("--seed", type=int, default=None,
                   help=f"replace each notebook's seed (default: {config.SEED}, else the notebook's own)")
    p.add_argument("--cell-timeout", type=int, default=3600, metavar="SECONDS",
                   help="fail a cell that runs longer than this (default 3600)")
    p.add_argument("--output-dir", default="build")
    p.set_defaults(func=_run)

    p = sub.add_parser("book", help="run every chapter and write build/report.md")
    p.add_argument("--profile", choices=PROFILES, default=None)
    p.add_argument("--seed", type=int, default=None,
                   help=f"replace each notebook's seed (default: {config.SEED}, else the notebook's own)")
    p.add_argument("--cell-timeout", type=int, default=3600, metavar="SECONDS",
                   help="fail a cell that runs longer than this (default 3600)")
    p.add_argument("--notebooks-dir", default="notebooks")
    p.add_argument("--output-dir", default="build")
    p.set_defaults(func=_book)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (UnknownProfileError, config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
