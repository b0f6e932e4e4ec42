#!/usr/bin/env python3
"""Runs a fuzz campaign over reef's fuzz targets and folds what it found into corpus/.

    tools/fuzz_campaign.py [--engine libfuzzer|afl] [--time SECONDS] [--jobs N]
                           [--no-merge] [--minimize] [TARGET ... | all]

For each target (fuzz/<target>.cc), one after the other:
  1. builds it (bazel build --config=fuzz, or --config=afl; the libFuzzer build is always
     made too, because merging and coverage use it);
  2. fuzzes for --time seconds with --jobs parallel workers (libFuzzer -fork=N, or one
     afl-fuzz -M main plus N-1 -S secondaries), starting from corpus/<target>/ and the
     dictionary corpus/<target>.dict, growing a copy under .fuzz/<target>/;
  3. merges every new input that adds coverage back into corpus/<target>/ (libFuzzer
     -merge=1); with --minimize, rebuilds corpus/<target>/ as a minimal set, keeping the
     hand-written seeds (any file whose name is not a 40-digit SHA-1);
  4. reports executions, coverage (edges and features of the final corpus) and any crash,
     with the exact command that reproduces it. Crash inputs stay in .fuzz/<target>/crashes/
     (git-ignored), never in the corpus.

Exits 1 if any target crashed, 2 on a usage or build error.
"""

import argparse
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, ".fuzz")
SHA1_NAME = re.compile(r"^[0-9a-f]{40}$")


def log(message):
    print(f"[fuzz] {message}", flush=True)


def all_targets():
    return sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "fuzz", "*_fuzzer.cc")))


def bazel_bin(config):
    out = subprocess.run(["bazel", "info", f"--config={config}", "bazel-bin"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout.strip()
    return out


def build(config, targets):
    labels = [f"//fuzz:{t}" for t in targets]
    log(f"building {len(targets)} target(s) with --config={config}")
    result = subprocess.run(["bazel", "build", f"--config={config}", *labels], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(2)
    binaries = {}
    bin_dir = bazel_bin(config)
    for t in targets:
        path = os.path.join(bin_dir, "fuzz", t)
        # Copy out of bazel-bin: the next build with another config may replace it.
        keep = os.path.join(WORK, "bin", config, t)
        os.makedirs(os.path.dirname(keep), exist_ok=True)
        shutil.copy2(path, keep)
        binaries[t] = keep
    return binaries


def libfuzzer_coverage(binary, corpus_dirs, dictionary):
    """Edges (cov) and features (ft) the given corpus reaches, from a -runs=0 pass."""
    args = [binary, "-runs=0"] + ([f"-dict={dictionary}"] if dictionary else []) + corpus_dirs
    out = subprocess.run(args, capture_output=True, text=True).stderr
    found = re.findall(r"INITED cov: (\d+) ft: (\d+) corp: (\d+)", out)
    if not found:
        found = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)", out)
    if not found:
        return None
    cov, ft, corp = found[-1]
    return int(cov), int(ft), int(corp)


def run_libfuzzer(target, binary, seconds, jobs, work, dictionary):
    grown = os.path.join(work, "grown")
    crashes = os.path.join(work, "crashes")
    os.makedirs(grown, exist_ok=True)
    os.makedirs(crashes, exist_ok=True)
    corpus = os.path.join(ROOT, "corpus", target)
    args = [binary, f"-fork={jobs}", "-ignore_crashes=1", "-ignore_timeouts=1", "-ignore_ooms=1",
            f"-max_total_time={seconds}", f"-artifact_prefix={crashes}/", "-print_final_stats=1"]
    if dictionary:
        args.append(f"-dict={dictionary}")
    # The first directory is the one libFuzzer grows; the corpus is only read.
    args += [grown, corpus]
    log(f"{target}: libFuzzer, {jobs} job(s), {seconds} s")
    log_path = os.path.join(work, "libfuzzer.log")
    with open(log_path, "w") as out:
        subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, cwd=work,
                       timeout=seconds + 300)
    text = open(log_path, errors="replace").read()
    # Fork mode prints "#<execs>: cov: ... " per job; the last one is the total.
    execs = [int(x) for x in re.findall(r"^#(\d+):? ", text, re.M)]
    stats = re.findall(r"stat::number_of_executed_units: (\d+)", text)
    total = max(execs) if execs else (sum(int(s) for s in stats) if stats else 0)
    return {"execs": total, "log": log_path}, crashes


def run_afl(target, binary, seconds, jobs, work, dictionary):
    out_dir = os.path.join(work, "afl")
    crashes = os.path.join(work, "crashes")
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    os.makedirs(crashes, exist_ok=True)
    corpus = os.path.join(ROOT, "corpus", target)
    env = dict(os.environ, AFL_SKIP_CPUFREQ="1", AFL_NO_UI="1",
               AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1", AFL_NO_AFFINITY="1",
               AFL_SKIP_CRASHES="1")
    log(f"{target}: AFL++, {jobs} instance(s), {seconds} s")
    procs = []
    for i in range(jobs):
        role = ["-M", "main"] if i == 0 else ["-S", f"secondary{i}"]
        args = ["afl-fuzz", *role, "-V", str(seconds), "-m", "none", "-t", "1000+",
                "-i", corpus, "-o", out_dir]
        if dictionary:
            args += ["-x", dictionary]
        args += ["--", binary]
        log_file = open(os.path.join(work, f"afl-{i}.log"), "w")
        procs.append(subprocess.Popen(args, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                                      cwd=work))
    for p in procs:
        p.wait(timeout=seconds + 300)
    execs = 0
    coverage = []
    for stats in glob.glob(os.path.join(out_dir, "*", "fuzzer_stats")):
        fields = dict(line.split(":", 1) for line in open(stats) if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        execs += int(fields.get("execs_done", 0))
        coverage.append(fields.get("bitmap_cvg", "?"))
    for crash in glob.glob(os.path.join(out_dir, "*", "crashes", "id:*")):
        data = open(crash, "rb").read()
        shutil.copy2(crash, os.path.join(crashes, "crash-" + hashlib.sha1(data).hexdigest()))
    queue = os.path.join(work, "grown")
    shutil.rmtree(queue, ignore_errors=True)
    os.makedirs(queue)
    for item in glob.glob(os.path.join(out_dir, "*", "queue", "id:*")):
        data = open(item, "rb").read()
        with open(os.path.join(queue, hashlib.sha1(data).hexdigest()), "wb") as f:
            f.write(data)
    return {"execs": execs, "afl_bitmap": ", ".join(coverage)}, crashes


def merge(target, merger, work, minimize):
    """Adds the grown inputs that bring new coverage to corpus/<target>/."""
    corpus = os.path.join(ROOT, "corpus", target)
    grown = os.path.join(work, "grown")
    before = set(os.listdir(corpus))
    if minimize:
        with tempfile.TemporaryDirectory() as tmp:
            minimal = os.path.join(tmp, "minimal")
            os.makedirs(minimal)
            subprocess.run([merger, "-merge=1", minimal, corpus, grown], cwd=work,
                           capture_output=True)
            hand = {n for n in before if not SHA1_NAME.match(n)}
            hand_hashes = {hashlib.sha1(open(os.path.join(corpus, n), "rb").read()).hexdigest()
                           for n in hand}
            for name in before - hand:
                os.remove(os.path.join(corpus, name))
            for name in os.listdir(minimal):
                if name not in hand_hashes:
                    shutil.copy2(os.path.join(minimal, name), os.path.join(corpus, name))
    else:
        subprocess.run([merger, "-merge=1", corpus, grown], cwd=work, capture_output=True)
    after = set(os.listdir(corpus))
    return len(after - before), len(before - after), len(after)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", default=["all"])
    parser.add_argument("--engine", choices=["libfuzzer", "afl"], default="libfuzzer")
    parser.add_argument("--time", type=int, default=60, help="seconds per target")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="parallel fuzzing processes per target")
    parser.add_argument("--no-merge", action="store_true",
                        help="leave corpus/ untouched (smoke runs)")
    parser.add_argument("--minimize", action="store_true",
                        help="rewrite corpus/<target>/ as a minimal set (hand seeds kept)")
    args = parser.parse_args()

    known = all_targets()
    targets = known if args.targets == ["all"] else args.targets
    unknown = [t for t in targets if t not in known]
    if unknown:
        print(f"unknown fuzz target(s): {', '.join(unknown)}; known: {', '.join(known)}",
              file=sys.stderr)
        return 2
    if args.time <= 0 or args.jobs <= 0:
        print("--time and --jobs must be positive", file=sys.stderr)
        return 2

    mergers = build("fuzz", targets)
    runners = mergers if args.engine == "libfuzzer" else build("afl", targets)

    results = []
    for target in targets:
        work = os.path.join(WORK, target)
        os.makedirs(work, exist_ok=True)
        dictionary = os.path.join(ROOT, "corpus", f"{target}.dict")
        dictionary = dictionary if os.path.exists(dictionary) else None
        corpus = os.path.join(ROOT, "corpus", target)
        before = libfuzzer_coverage(mergers[target], [corpus], dictionary)
        started = time.monotonic()
        run = run_libfuzzer if args.engine == "libfuzzer" else run_afl
        stats, crash_dir = run(target, runners[target], args.time, args.jobs, work, dictionary)
        elapsed = time.monotonic() - started
        crashes = sorted(glob.glob(os.path.join(crash_dir, "crash-*")) +
                         glob.glob(os.path.join(crash_dir, "leak-*")) +
                         glob.glob(os.path.join(crash_dir, "timeout-*")) +
                         glob.glob(os.path.join(crash_dir, "oom-*")))
        merged = None
        if not args.no_merge:
            merged = merge(target, mergers[target], work, args.minimize)
        after = libfuzzer_coverage(mergers[target], [corpus, os.path.join(work, "grown")],
                                   dictionary)
        results.append((target, stats, elapsed, before, after, merged, crashes))

    print()
    print(f"| target | engine | seconds | executions | exec/s | edges before → after | "
          f"features before → after | corpus added/removed/total | crashes |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    for target, stats, elapsed, before, after, merged, crashes in results:
        execs = stats["execs"]
        cov = f"{before[0]} → {after[0]}" if before and after else "?"
        ft = f"{before[1]} → {after[1]}" if before and after else "?"
        m = f"+{merged[0]}/-{merged[1]}/{merged[2]}" if merged else "not merged"
        print(f"| {target} | {args.engine} | {elapsed:.0f} | {execs} | {execs / max(elapsed, 1):.0f} "
              f"| {cov} | {ft} | {m} | {len(crashes)} |")
        if "afl_bitmap" in stats:
            print(f"|   AFL++ bitmap coverage per instance: {stats['afl_bitmap']} |")
    for target, _, _, _, _, _, crashes in results:
        for crash in crashes:
            failed = True
            print(f"\nCRASH in {target}: {crash}\n  reproduce: bazel build --config=fuzz "
                  f"//fuzz:{target} && \"$(bazel info --config=fuzz bazel-bin)/fuzz/{target}\" "
                  f"{crash}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
