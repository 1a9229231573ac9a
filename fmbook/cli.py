"""The ``fmbook`` command: ``doctor``, ``data list|fetch|verify``, ``run``, ``book``."""

from __future__ import annotations

import argparse
import sys
from importlib import metadata
from pathlib import Path

from . import __version__
from .data import REGISTRY, DataError, fetch, get_dataset, mirror_dir, cache_dir, status
from .profiles import PROFILES, UnknownProfileError, get_profile


def _doctor(args) -> int:
    from .device import describe
    from .ledger import library_versions, results_dir

    print(f"fmbook {__version__}")
    print(f"profile: {get_profile()} (FMBOOK_PROFILE; one of {', '.join(PROFILES)})")
    print(f"device: {describe(include_tensorflow=args.tensorflow)}")
    print("libraries: " + ", ".join(f"{k} {v}" for k, v in library_versions().items()))
    print(f"data mirror (FMBOOK_DATA): {mirror_dir() or 'not set'}")
    print(f"data cache (FMBOOK_CACHE): {cache_dir()}")
    print(f"results ledger (FMBOOK_RESULTS): {results_dir()}")
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
    names = args.names or sorted(REGISTRY)
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
            for fname, state in status(ds).items():
                ok = state in ("mirror", "cache")
                failed += not ok
                print(f"{ds.name}/{fname}: {'ok (' + state + ')' if ok else state}")
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


def _run(args) -> int:
    from .notebook import report, run_notebook

    ok = True
    runs = []
    for nb in args.notebooks:
        r = run_notebook(nb, profile=args.profile, output_dir=args.output_dir)
        _print_run(r)
        runs.append(r)
        ok &= r["ok"]
    print(f"report: {report(args.output_dir, runs)}")
    return 0 if ok else 1


def _book(args) -> int:
    from .notebook import chapters, report, run_notebook

    runs = []
    for nb in chapters(args.notebooks_dir):
        r = run_notebook(nb, profile=args.profile, output_dir=args.output_dir)
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

    p = sub.add_parser("data", help="list, fetch or verify data sets")
    p.add_argument("action", choices=["list", "fetch", "verify"])
    p.add_argument("names", nargs="*", help="data set names (default: all)")
    p.set_defaults(func=_data)

    p = sub.add_parser("run", help="execute notebooks headless, save executed copies, record metrics")
    p.add_argument("notebooks", nargs="+")
    p.add_argument("--profile", choices=PROFILES, default=None)
    p.add_argument("--output-dir", default="build")
    p.set_defaults(func=_run)

    p = sub.add_parser("book", help="run every chapter and write build/report.md")
    p.add_argument("--profile", choices=PROFILES, default=None)
    p.add_argument("--notebooks-dir", default="notebooks")
    p.add_argument("--output-dir", default="build")
    p.set_defaults(func=_book)

    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UnknownProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
