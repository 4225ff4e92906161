"""The ``ifl`` command: run the book, check and summarise the data, run benchmarks.

Machine-readable output (JSON) goes to stdout; progress and messages go to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import __version__
from .errors import IFLError


def _cmd_run(args: argparse.Namespace) -> int:
    from .runner import NotebookFailed, build_book, run_chapters

    try:
        report = run_chapters(mode=args.mode, seed=args.seed, only=args.only, data=args.data)
    except NotebookFailed as err:
        print(f"\nFAILED: {err}", file=sys.stderr)
        return 1
    print(f"chapters done: {report.seconds}", file=sys.stderr)
    if args.no_build:
        return 0
    try:
        index = build_book()
    except RuntimeError as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    print(f"book: {index.relative_to(index.parents[2])}", file=sys.stderr)
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from .runner import build_book

    try:
        build_book()
    except RuntimeError as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    return 0


def _cmd_data_verify(args: argparse.Namespace) -> int:
    from .data.verify_cli import verify_command

    return verify_command(args.path, full=not args.fast)


def _cmd_data_summary(args: argparse.Namespace) -> int:
    from .data.api import Dataset

    ds = Dataset(args.data, verify="none" if args.unverified else "fast")
    summary = ds.summary()
    if args.json:
        json.dump(summary, sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
    else:
        for key, val in summary.items():
            print(f"{key:24s} {val}")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .data.synth import SynthConfig, make_release

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        print(f"error: {out} exists and is not empty; choose a new folder", file=sys.stderr)
        return 2
    root = make_release(out, SynthConfig(workers=args.workers, turns=args.turns, seed=args.seed,
                                         inject_defects=not args.clean))
    n_files = sum(1 for p in root.rglob("*") if p.is_file())
    json.dump({"out": str(out), "files": n_files, "workers": args.workers, "turns": args.turns,
               "seed": args.seed, "defects_injected": not args.clean}, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import importlib
    from pathlib import Path

    from . import benchmarks_report as br
    from .runner import project_root

    root = project_root()
    # benchmark code lives in the repository (benchmarks/), not in the installed package
    sys.path.insert(0, str(root))
    names = br.BENCHMARKS if args.name == "all" else (args.name,)
    results_dir = Path(args.results_dir) if args.results_dir else root / br.RESULTS_DIR
    # the commit is taken before any benchmark runs (a saved result must not make the next dirty)
    commit = br.git_commit(root) if args.save else None
    code = br.code_hash(root) if args.save else None
    out = {}
    for name in names:
        if len(names) > 1:
            print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        result = mod.main(data=args.data, repeat=args.repeat)
        if args.save:
            path = br.save_result(result, results_dir, commit, code=code)
            result = json.loads(path.read_text(encoding="utf-8"))
            print(f"[bench] saved {path}", file=sys.stderr, flush=True)
        out[name] = result
    json.dump(out[names[0]] if len(names) == 1 else out, sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def _cmd_features(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .data.api import Dataset
    from .features import load_query_features
    from .io import atomic_path

    out = Path(args.out)
    if out.suffix.lower() not in (".parquet", ".csv"):
        print(f"error: --out must end in .parquet or .csv, got {out.name!r}", file=sys.stderr)
        return 2
    from .errors import IFLManifestError

    verify = "fast" if args.verify == "auto" else args.verify
    ds = Dataset(args.data, verify=verify, progress=True)
    try:
        ds.ensure()
    except IFLManifestError:
        if args.verify != "auto":
            raise
        # not the published release (e.g. your own recordings in the release layout)
        print("note: the folder does not match the published release's manifest; reading it "
              "unverified (verify='none')", file=sys.stderr)
        ds = Dataset(args.data, verify="none", progress=True)
    table = load_query_features(ds, llm_identity=args.llm_identity)
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)
    report = ds.quality_report()
    rep_path = out.with_name(out.stem + ".quality.csv")
    with atomic_path(rep_path) as tmp:
        report.to_csv(tmp, index=False)
    json.dump({"features": str(out), "queries": int(len(table)), "columns": int(table.shape[1] - 1),
               "quality_report": str(rep_path), "quality": {str(r["defect"]): int(r["count"])
                                                            for _, r in report.iterrows()}},
              sys.stdout, indent=2, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``ifl`` (documented by ``ifl --help``)."""
    p = argparse.ArgumentParser(prog="ifl", description="IFLLM companion: book runner, data tools, benchmarks.")
    p.add_argument("--version", action="version", version=f"ifl_utils {__version__}")
    p.add_argument("--debug", action="store_true",
                   help="print the full traceback of an error (default: one line naming the file)")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="execute the chapters in order (papermill), then build the book")
    r.add_argument("--mode", choices=("quick", "full"), default="full",
                   help="quick: CI smoke run in minutes; full: the book (default)")
    r.add_argument("--only", help="run one chapter, e.g. 02 or behaviour (no book build unless all ran)")
    r.add_argument("--seed", type=int, default=0, help="seed passed to every chapter (default 0)")
    r.add_argument("--data", help="IFLLM release folder or archive (default: $IFLLM_DATA, else download)")
    r.add_argument("--no-build", action="store_true", help="execute the chapters but do not build the book")
    r.set_defaults(func=_cmd_run)

    b = sub.add_parser("build", help="build the book from the executed chapters (warnings are errors)")
    b.set_defaults(func=_cmd_build)

    d = sub.add_parser("data", help="check and summarise the IFLLM release")
    dsub = d.add_subparsers(dest="data_command", required=True)
    v = dsub.add_parser("verify", help="check every file against the shipped manifest (exit 0 only if all match)")
    v.add_argument("path", nargs="?", help="release folder or archive (default: $IFLLM_DATA)")
    v.add_argument("--fast", action="store_true", help="sizes only, for a folder already fully verified")
    v.set_defaults(func=_cmd_data_verify)
    s = dsub.add_parser("summary", help="counts of the parsed release (workers, queries, callbacks, defects)")
    s.add_argument("--data", help="release folder or archive (default: $IFLLM_DATA)")
    s.add_argument("--json", action="store_true", help="one JSON object on stdout")
    s.add_argument("--unverified", action="store_true",
                   help="a folder that is not the published release (your own recordings): skip the manifest check")
    s.set_defaults(func=_cmd_data_summary)

    sy = sub.add_parser("synth", help="write a small synthetic release in the IFLLM layout (for tests and demos)")
    sy.add_argument("--out", required=True, help="folder to create (must be new or empty)")
    sy.add_argument("--workers", type=int, default=3, help="workers; each has one pairwise and one pointwise conversation")
    sy.add_argument("--turns", type=int, default=3, help="turns per conversation")
    sy.add_argument("--seed", type=int, default=0, help="random seed")
    sy.add_argument("--clean", action="store_true", help="do not inject the release's known defects")
    sy.set_defaults(func=_cmd_synth)

    be = sub.add_parser("bench", help="run a benchmark; prints one JSON object",
                        description="Run a benchmark (benchmarks/bench_NAME.py) and print its result as "
                                    "JSON; 'all' runs every one in turn and prints {name: result}. "
                                    "--save also writes benchmarks/records/NAME.json (with the time, "
                                    "the git commit, a fingerprint of the code and the machine), which "
                                    "the benchmarks page reads.")
    be.add_argument("name", choices=("ingest", "behaviour", "features", "reward", "dpo", "all"),
                    help="which benchmark, or all of them")
    be.add_argument("--data", help="release folder or archive (default: $IFLLM_DATA)")
    be.add_argument("--repeat", type=int, default=3, help="repetitions; medians are reported (default 3)")
    be.add_argument("--save", action="store_true",
                    help="also write each result to benchmarks/records/NAME.json (atomically)")
    be.add_argument("--results-dir", help="folder for --save (default: benchmarks/records of the repository)")
    be.set_defaults(func=_cmd_bench)

    fe = sub.add_parser("features", help="write the per-query feature table (Parquet or CSV by suffix) "
                                         "and the quality report beside it")
    fe.add_argument("--data", help="release folder or archive (default: $IFLLM_DATA)")
    fe.add_argument("--out", required=True, help="output file, .parquet or .csv")
    fe.add_argument("--verify", choices=("auto", "fast", "full", "none"), default="auto",
                    help="manifest check; auto (default): the release is checked, a folder that does not "
                         "match it (not the published release) is read unverified")
    fe.add_argument("--llm-identity", action="store_true", help="add one column per LLM (text group)")
    fe.set_defaults(func=_cmd_features)
    return p


def _one_line(err: BaseException) -> str:
    """The error as one printable line (control characters escaped, line breaks joined)."""
    from .errors import printable

    text = str(err) if isinstance(err, IFLError) else _os_message(err)
    return " ".join(printable(part.strip()) for part in text.splitlines() if part.strip())


def _os_message(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}"
    return f"{type(err).__name__}: {err}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ifl`` console command.

    Errors of the data (:class:`~ifl_utils.errors.IFLError`) and of the operating system
    (``OSError``: permissions, a full disk) end the command with exit status 2 and one line on
    stderr naming the file and the problem; any other exception is a bug and ends it with status
    1 and one line. ``--debug`` prints the traceback instead.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, e.g. after a subcommand's options
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    args.debug = debug
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (IFLError, OSError) as err:
        if args.debug:
            raise
        print(f"error: {_one_line(err)} (--debug for the traceback)", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a bug: one line, the traceback on request
        if args.debug:
            raise
        print(f"error: unexpected {_one_line(err)}; this is a bug, rerun with --debug and report "
              "the traceback", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
