#!/usr/bin/env python3
"""summarize.py OUT: turns scripts/bench's raw samples into OUT/results.md and OUT/results.csv.

Reads OUT/raw.csv (section,method,n,round,i,op,us), OUT/checks.csv and OUT/facts.csv.
A method's figures count only if all its HTTP checks passed; otherwise the table says so.
"""
import csv
import random
import statistics
import sys
from collections import defaultdict

LABELS = {
    "berth-cli": "Berth CLI (`berth attach`/`detach`, one process each)",
    "berth-cli6": "Berth CLI on a dual-stack network (`-p` on both families)",
    "berth-lib": "Berth library (`NetworkManager` in one process)",
    "floor": "C floor (libmnl + libnftnl, bench/floor)",
    "shell": "`ip` + `nft` shell script",
    "netavark": "netavark (podman's JSON)",
    "cni": "CNI bridge + host-local + portmap",
    "berth-cni": "berth-cni (CNI ADD/DEL as libcni runs it)",
}
ORDER = list(LABELS)

# Start-up rows (harness.sh startup_section): fact key suffix, what ran.
STARTUP = [
    ("true", "`/bin/true`"),
    ("floor", "C floor doing nothing (`floor noop`)"),
    ("hello", "static Swift hello (`swiftc -static-stdlib`)"),
    ("berth", "`berth --version` (lean: attach, detach, supervisor)"),
    ("berth_cli", "`berth-cli --version` (every other command, argument-parser)"),
    ("berth_dns", "`berth-dns --help`"),
    ("berth_cni", "`berth-cni` VERSION"),
    ("berth_oci_hook", "`berth-oci-hook --help`"),
]
# The per-container binaries held to 1.5x the static Swift hello's start-up.
LEAN = ["berth", "berth_dns", "berth_cni", "berth_oci_hook"]


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def slope_ms_per_100(points):
    """Least-squares slope of attach time over the number already attached, in ms per 100."""
    pts = [(i, us) for i, us in points if i >= 2]  # endpoint 1 may pay one-off work
    if len(pts) < 3:
        return float("nan")
    mx = statistics.fmean(i for i, _ in pts)
    my = statistics.fmean(us for _, us in pts)
    sxx = sum((i - mx) ** 2 for i, _ in pts)
    sxy = sum((i - mx) * (us - my) for i, us in pts)
    return (sxy / sxx) * 100 / 1000 if sxx else float("nan")


def ms(us):
    return f"{us / 1000:.2f}" if us == us else "–"


def main(out):
    facts = {}
    with open(f"{out}/facts.csv") as f:
        for row in csv.DictReader(f):
            facts[row["key"]] = row["value"]
    samples = defaultdict(list)  # (section, method, n, op) -> [(i, us)]
    with open(f"{out}/raw.csv") as f:
        for row in csv.DictReader(f):
            samples[(row["section"], row["method"], int(row["n"]), row["op"])].append((int(row["i"]), int(row["us"])))
    checks = defaultdict(lambda: [0, 0])  # (method, n) -> [ok, total]
    with open(f"{out}/checks.csv") as f:
        for row in csv.DictReader(f):
            c = checks[(row["method"], int(row["n"]))]
            c[1] += 1
            c[0] += row["result"] == "ok"

    def fig(section, method, n, op):
        us = [u for _, u in samples.get((section, method, n, op), [])]
        return (statistics.median(us) if us else float("nan"), pct(us, 90), len(us))

    startup = int(facts.get("startup_us.berth", "0") or 0)  # the lean binary's, as attach pays it
    publish = facts.get("berth_publish") == "yes"
    lines = []
    w = lines.append
    csv_rows = [["section", "method", "n", "figure", "value_ms", "samples"]]
    if not samples and "dns" in facts:
        # scripts/bench --dns-only
        w(f"Machine: {facts.get('machine', '?')}; {facts.get('os', '?')}.  ")
        dns_section(facts, w, csv_rows)
        return write_results(out, lines, csv_rows)
    if samples and all(key[0] == "lab" for key in samples):
        # scripts/bench --lab
        w(f"Machine: {facts.get('machine', '?')}; {facts.get('os', '?')}.  ")
        lab_section(facts, checks, fig, w, csv_rows)
        w("")
        w("| target | measured | met |")
        w("|---|---|---|")
        lab_targets(fig, lambda target, measured, met: w(f"| {target} | {measured} | {'yes' if met else 'no'} |"))
        return write_results(out, lines, csv_rows)
    w(f"Machine: {facts.get('machine', '?')}; {facts.get('os', '?')}.  ")
    w(f"Berth {facts.get('version.berth', '?')}, release build, static Swift stdlib. "
      f"Rounds at N = {facts.get('n_small')}: {facts.get('rounds')}; N = {facts.get('n_big')}: 1.")
    if not publish:
        w("")
        w("**This berth has no `-p`: Berth attached without publishing a port (no DNAT work), and its "
          "checks fetched from the container address directly. Berth's figures are not yet comparable.**")
    w("")
    startup_table(facts, w, csv_rows)
    if "startup_us.hook_noop" in facts:
        w("")
        w(f"`berth-oci-hook`: a stage with nothing to do (reads and checks the state) "
          f"{ms(int(facts['startup_us.hook_noop']))} ms; `poststop` of an unknown container (also opens the state) "
          f"{ms(int(facts['startup_us.hook_poststop_unknown']))} ms.")
    w("")
    w("### 1. Attach and detach against the number of endpoints (ms, wall time per operation)")
    w("")
    w("| method | N | attach median | attach p90 | attach CPU (mean) | slope (ms / 100 endpoints) | detach median | detach p90 "
      "| Berth CLI ÷ this, attach / detach | Berth start-up share of attach | checks |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    ns = sorted({k[2] for k in samples if k[0] == "scale"})
    for n in ns:
        cli_a = fig("scale", "berth-cli", n, "attach")[0]
        cli_d = fig("scale", "berth-cli", n, "detach")[0]
        for m in ORDER:
            if ("scale", m, n, "attach") not in samples:
                continue
            a_med, a_p90, count = fig("scale", m, n, "attach")
            d_med, d_p90, _ = fig("scale", m, n, "detach")
            sl = slope_ms_per_100(samples[("scale", m, n, "attach")])
            ok, total = checks[(m, n)]
            status = f"{ok}/{total}" if ok == total else f"**{ok}/{total} FAILED, figures do not count**"
            if m == "berth-cli":
                ratio = "1"
            elif cli_a == cli_a and a_med and d_med:
                ratio = f"{cli_a / a_med:.2f} / {cli_d / d_med:.2f}"
            else:
                ratio = "–"
            share = f"{100 * startup / a_med:.0f} %" if m == "berth-cli" and a_med else ""
            cpu = attach_cpu(facts, m, n)
            w(f"| {LABELS[m]} | {n} | {ms(a_med)} | {ms(a_p90)} | {ms(cpu)} | {sl:+.2f} | {ms(d_med)} | {ms(d_p90)} "
              f"| {ratio} | {share} | {status} |")
            for name, v in (("attach_median", a_med), ("attach_p90", a_p90), ("detach_median", d_med),
                            ("detach_p90", d_p90)):
                csv_rows.append(["scale", m, n, name, f"{v / 1000:.3f}", count])
            csv_rows.append(["scale", m, n, "attach_slope_per_100", f"{sl:.3f}", count])
    w("")
    w("Ratios above 1 mean Berth's CLI is slower than that method. The slope is the least-squares "
      "growth of attach time with the number of endpoints already attached (endpoint 1 excluded). "
      "Attach CPU is the user + system time of the attach processes (and their children) over all "
      "rounds, per attach: unlike wall times, it hardly moves with other load on the machine.")

    lockstep_section(facts, checks, fig, w, csv_rows)

    w("")
    w("### 2. Publishing a range (Berth CLI)")
    w("")
    if ("range", "berth-cli", 1000, "attach-1000-ports") in samples:
        w("| operation | median (ms) | p90 (ms) | samples | Berth start-up share | checks |")
        w("|---|---:|---:|---:|---:|---|")
        ok, total = checks[("berth-range", 11)]
        for n, op, label in ((1000, "attach-1000-ports", "attach publishing 1,000 ports (`-p 20000-20999:20000-20999`)"),
                             (1000, "detach-1000-ports", "detach of that endpoint"),
                             (10000, "attach-at-10000-ports", "attach of 1 more endpoint (1 port) beside 10,000 published ports"),
                             (10000, "detach-at-10000-ports", "its detach")):
            med, p90, count = fig("range", "berth-cli", n, op)
            w(f"| {label} | {ms(med)} | {ms(p90)} | {count} | {100 * startup / med:.0f} % | {ok}/{total} |")
            csv_rows.append(["range", "berth-cli", n, op + "_median", f"{med / 1000:.3f}", count])
    else:
        w(f"Not measured: {facts.get('range', 'the section did not run')}.")

    w("")
    w("### 3. Peak RSS (KiB, `/usr/bin/time -f %M` or getrusage)")
    w("")
    w("| process | peak RSS |")
    w("|---|---:|")
    rss = [(k, v) for k, v in facts.items() if k.startswith(("rss_", "lib_maxrss"))]
    for k, v in sorted(rss):
        w(f"| {rss_label(k)} | {v} |")
        csv_rows.append(["rss", k, "", "kib", v, 1])

    w("")
    w("### 4. `berth run`")
    w("")
    if facts.get("berth_run") == "measured":
        w("| command | median (ms) | p90 (ms) | samples |")
        w("|---|---:|---:|---:|")
        for op, label in (("run-true-published", "`berth run --network bhnet -p HPORT:80 -- true`"),
                          ("run-true-network-none", "`berth run --network none -- true`")):
            med, p90, count = fig("run", "berth-cli", 1, op)
            w(f"| {label} | {ms(med)} | {ms(p90)} | {count} |")
            csv_rows.append(["run", "berth-cli", 1, op + "_median", f"{med / 1000:.3f}", count])
    else:
        w(f"Not measured: {facts.get('berth_run', 'the section did not run')}.")

    dns_section(facts, w, csv_rows)

    w("")
    w("### 7. `podman run --rm -p 8080:80 localhost/bb true` (--peers)")
    w("")
    if facts.get("podman") == "measured":
        w("| network | median (ms) | p90 (ms) | samples |")
        w("|---|---:|---:|---:|")
        for variant, label in (("berth-cni", "berth-cni (CNI backend)"), ("netavark", "netavark (podman's default)"),
                               ("cni-bridge", "CNI bridge + host-local + portmap + firewall"), ("none", "`--network none` (no -p)")):
            med, p90, count = fig("podman", variant, 1, "run-rm-p")
            w(f"| {label} | {ms(med)} | {ms(p90)} | {count} |")
            csv_rows.append(["podman", variant, 1, "run_rm_p_median", f"{med / 1000:.3f}", count])
        a = fig("scale", "berth-cni", int(facts.get("n_small", 50)), "attach")[0]
        d = fig("scale", "berth-cni", int(facts.get("n_small", 50)), "detach")[0]
        run = fig("podman", "berth-cni", 1, "run-rm-p")[0]
        if a == a and d == d and run == run:
            w("")
            w(f"berth-cni's own share of a `podman run --rm -p`: one ADD and one DEL, {ms(a + d)} ms "
              f"(section 1 medians) of {ms(run)} ms.")
    else:
        w(f"Not measured: {facts.get('podman', 'run with --peers')}.")

    hook_added, hook_added_interval, floor_hook_added = hook_section(facts, checks, fig, w, csv_rows, samples)
    lab_section(facts, checks, fig, w, csv_rows)

    w("")
    w("### Targets (reported, nothing fails on them)")
    w("")
    w("| target | measured | met |")
    w("|---|---|---|")
    n0 = int(facts.get("n_small", 50))
    n1 = int(facts.get("n_big", 1000))
    cli_a = fig("scale", "berth-cli", n0, "attach")[0]
    floor_a = fig("scale", "floor", n0, "attach")[0]
    cli_a1 = fig("scale", "berth-cli", n1, "attach")[0]
    floor_a1 = fig("scale", "floor", n1, "attach")[0]
    nav_a = fig("scale", "netavark", n0, "attach")[0]
    cli_d = fig("scale", "berth-cli", n0, "detach")[0]
    lib_a = fig("scale", "berth-lib", n0, "attach")[0]
    sl = slope_ms_per_100(samples.get(("scale", "berth-cli", n1, "attach"), []))
    floor_sl = slope_ms_per_100(samples.get(("scale", "floor", n1, "attach"), []))
    rng = fig("range", "berth-cli", 1000, "attach-1000-ports")[0]
    rss_cli = int(facts.get(f"rss_attach_kb.berth-cli.n{n0}", "0") or 0)
    hello = int(facts.get("startup_us.hello", "0") or 0)

    def row(target, measured, met):
        w(f"| {target} | {measured} | {'yes' if met else 'no'} |")

    row(f"CLI attach ≤ 2× the C floor (N = {n0})", f"{ms(cli_a)} vs {ms(floor_a)} ms = {cli_a / floor_a:.2f}× "
        f"(CPU {cpu_ratio(facts, n0)})", cli_a <= 2 * floor_a)
    lock = lockstep_ratio(facts, fig)
    if lock:
        c, f, cpu = lock
        row(f"CLI attach ≤ 2× the C floor (N = {n0}, call by call: section 1b)",
            f"{ms(c)} vs {ms(f)} ms = {c / f:.2f}× (CPU {cpu})", c <= 2 * f)
    if cli_a1 == cli_a1 and floor_a1 == floor_a1:
        row(f"CLI attach ≤ 2× the C floor (N = {n1})", f"{ms(cli_a1)} vs {ms(floor_a1)} ms = {cli_a1 / floor_a1:.2f}× "
            f"(CPU {cpu_ratio(facts, n1)})", cli_a1 <= 2 * floor_a1)
    if nav_a == nav_a:
        row(f"CLI attach ≥ 10× faster than netavark (N = {n0})", f"{nav_a / cli_a:.1f}× faster", nav_a >= 10 * cli_a)
    row(f"CLI slope ≤ the floor's + 0.1 ms per 100 endpoints (up to N = {n1})", f"{sl:+.2f} vs {floor_sl:+.2f} ms / 100",
        sl <= floor_sl + 0.1)
    row(f"CLI detach ≤ 10 ms median (N = {n0})", f"{ms(cli_d)} ms", cli_d <= 10000)
    for key, label in STARTUP:
        if key in LEAN and facts.get(f"startup_us.{key}") and hello:
            us = int(facts[f"startup_us.{key}"])
            row(f"{label.split(' (')[0]} start-up ≤ 1.5× a static Swift hello", f"{ms(us)} vs {ms(hello)} ms = {us / hello:.2f}×",
                us <= 1.5 * hello)
    cli6_a = fig("scale", "berth-cli6", n0, "attach")[0]
    if cli6_a == cli6_a:
        row(f"dual-stack CLI attach ≤ 1.2× the IPv4 one (N = {n0})", f"{ms(cli6_a)} vs {ms(cli_a)} ms = {cli6_a / cli_a:.2f}×",
            cli6_a <= 1.2 * cli_a)
    if rng == rng:
        row("1,000-port range attach ≤ 15 ms", f"{ms(rng)} ms", rng <= 15000)
    row(f"library attach ≤ the C floor's whole-process attach (N = {n0})", f"{ms(lib_a)} vs {ms(floor_a)} ms", lib_a <= floor_a)
    if rss_cli:
        row("`berth attach` peak RSS ≤ 10 MiB", f"{rss_cli / 1024:.1f} MiB", rss_cli <= 10 * 1024)
    cni_a, cni_d = fig("scale", "berth-cni", n0, "attach")[0], fig("scale", "berth-cni", n0, "detach")[0]
    ref_a, ref_d = fig("scale", "cni", n0, "attach")[0], fig("scale", "cni", n0, "detach")[0]
    if cni_a == cni_a:
        row(f"berth-cni ADD ≤ 2× the C floor's attach (N = {n0})", f"{ms(cni_a)} vs {ms(floor_a)} ms = {cni_a / floor_a:.2f}×", cni_a <= 2 * floor_a)
        if ref_a == ref_a:
            row(f"berth-cni ADD ≥ 20× faster than bridge + host-local + portmap (N = {n0})", f"{ref_a / cni_a:.1f}× faster", ref_a >= 20 * cni_a)
            row(f"berth-cni DEL ≥ 5× faster than the reference chain (N = {n0})", f"{ref_d / cni_d:.1f}× faster", ref_d >= 5 * cni_d)
    lock = lockstep_ratio(facts, fig, "berth-cni")
    if lock:
        c, f, cpu = lock
        row(f"berth-cni ADD ≤ 2× the C floor's attach (N = {n0}, call by call: section 1b)",
            f"{ms(c)} vs {ms(f)} ms = {c / f:.2f}× (CPU {cpu})", c <= 2 * f)
    pod = {v: fig("podman", v, 1, "run-rm-p")[0] for v in ("berth-cni", "netavark", "cni-bridge")}
    if all(x == x for x in pod.values()):
        row("`podman run --rm -p` with berth-cni faster than with netavark", f"{ms(pod['berth-cni'])} vs {ms(pod['netavark'])} ms", pod["berth-cni"] < pod["netavark"])
        row("`podman run --rm -p` with berth-cni faster than with the reference chain", f"{ms(pod['berth-cni'])} vs {ms(pod['cni-bridge'])} ms", pod["berth-cni"] < pod["cni-bridge"])
    if hook_added == hook_added and floor_a == floor_a:
        low, high = hook_added_interval
        row(f"OCI hook adds ≤ 2× the C floor's attach to `runc run -d` (floor at N = {n0})",
            f"{ms(hook_added)} vs {ms(floor_a)} ms = {hook_added / floor_a:.2f}× "
            f"(90 % interval of the paired median {ms(low)}–{ms(high)} ms: {low / floor_a:.2f}–{high / floor_a:.2f}×)",
            hook_added <= 2 * floor_a)
    if hook_added == hook_added and floor_hook_added == floor_hook_added:
        # Like for like: the floor's attach and detach run as the same two hooks, in the same
        # runc runs and reps, so runc's own cost of running a hook (section 8's /bin/true row)
        # is on both sides of the ratio, not only on the hook's as in the row above.
        row("OCI hook adds ≤ 2× what the C floor adds as the same hooks to `runc run -d` (same runs)",
            f"{ms(hook_added)} vs {ms(floor_hook_added)} ms = {hook_added / floor_hook_added:.2f}×",
            hook_added <= 2 * floor_hook_added)
    dns_targets(facts, row)
    lab_targets(fig, row)
    write_results(out, lines, csv_rows)


def lockstep_section(facts, checks, fig, w, csv_rows):
    """Section 1b: the CLI and the floor with their timed calls alternating one by one."""
    n = int(facts.get("n_small", 50))
    if fig("lockstep", "berth-cli", n, "attach")[2] == 0 or fig("lockstep", "floor", n, "attach")[2] == 0:
        return
    w("")
    w(f"### 1b. The Berth CLI, the C floor and berth-cni call by call (N = {n}, ms)")
    w("")
    w("Each in its own host namespace as in section 1, their timed calls taking turns one by one "
      "(attach i of each, which goes first rotating), so a slow minute of the machine weighs on "
      "every side of a ratio alike.")
    w("")
    w("| method | attach median | attach p90 | attach CPU (mean) | detach median | samples | checks |")
    w("|---|---:|---:|---:|---:|---:|---|")
    for m in ("berth-cli", "floor", "berth-cni"):
        a_med, a_p90, count = fig("lockstep", m, n, "attach")
        if not count:
            continue
        d_med = fig("lockstep", m, n, "detach")[0]
        cpu = facts.get(f"cpu_us_attach.{m}.n{n}.rL")
        ok, total = checks[(m, n)]
        w(f"| {LABELS[m]} | {ms(a_med)} | {ms(a_p90)} | {ms(int(cpu)) if cpu else '–'} | {ms(d_med)} | {count} "
          f"| {ok}/{total} (sections 1 and 1b together) |")
        csv_rows.append(["lockstep", m, n, "attach_median", f"{a_med / 1000:.3f}", count])


def lockstep_ratio(facts, fig, method="berth-cli"):
    """(method's attach, floor's attach, CPU ratio text) of section 1b, or None when it did not run."""
    n = int(facts.get("n_small", 50))
    cli, floor = fig("lockstep", method, n, "attach"), fig("lockstep", "floor", n, "attach")
    if not cli[2] or not floor[2]:
        return None
    c_cpu, f_cpu = facts.get(f"cpu_us_attach.{method}.n{n}.rL"), facts.get(f"cpu_us_attach.floor.n{n}.rL")
    cpu = f"{int(c_cpu) / int(f_cpu):.2f}×" if c_cpu and f_cpu and int(f_cpu) else "–"
    return cli[0], floor[0], cpu


def cpu_ratio(facts, n):
    cli, floor = attach_cpu(facts, "berth-cli", n), attach_cpu(facts, "floor", n)
    return f"{ms(cli)} vs {ms(floor)} ms = {cli / floor:.2f}×" if cli == cli and floor == floor and floor else "–"


def attach_cpu(facts, method, n):
    """Mean CPU µs per attach over the rounds of a method (harness.sh cpu_us_attach facts)."""
    # Section 1's rounds only: section 1b's run (round L) has a row of its own.
    values = [int(v) for k, v in facts.items() if k.startswith(f"cpu_us_attach.{method}.n{n}.") and not k.endswith(".rL") and v]
    return statistics.fmean(values) if values else float("nan")


def startup_table(facts, w, csv_rows):
    """Start-up of each binary beside /bin/true, the C floor and a static Swift hello."""
    w("### Start-up (wall: median of 31 runs; CPU: mean of 31; minor page faults and peak RSS of one)")
    w("")
    hello = int(facts.get("startup_us.hello", "0") or 0)
    hello_cpu = int(facts.get("startup_cpu_us.hello", "0") or 0)
    w("| process | wall median (ms) | ÷ static Swift hello | CPU (ms) | ÷ hello's CPU | minor faults | peak RSS (KiB) |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for key, label in STARTUP:
        us = facts.get(f"startup_us.{key}")
        if us is None:
            continue
        us = int(us)
        cpu = int(facts.get(f"startup_cpu_us.{key}", "0") or 0)
        ratio = f"{us / hello:.2f}" if hello else "–"
        cpu_ratio = f"{cpu / hello_cpu:.2f}" if hello_cpu else "–"
        w(f"| {label} | {ms(us)} | {ratio} | {ms(cpu)} | {cpu_ratio} | {facts.get(f'startup_faults.{key}', '–')} "
          f"| {facts.get(f'startup_rss_kb.{key}', '–')} |")
        csv_rows.append(["startup", key, "", "median", f"{us / 1000:.3f}", 31])
    w("")
    w(f"Load average when the start-up section ran: {facts.get('load_average', '?')} (2 CPUs; other builds share "
      "the machine, so compare rows of one run; page faults hardly move with load).")


def dns_section(facts, w, csv_rows):
    """Section 6: berth-dns with 1,000 names, one client namespace, a fake upstream."""
    w("")
    w("### 6. DNS resolver (`berth-dns`, 1,000 names, resolver alone on one CPU)")
    w("")
    if facts.get("dns") != "measured":
        w(f"Not measured: {facts.get('dns', 'the section did not run')}.")
        return
    w("| queries | in flight | queries/s | p50 (µs) | p99 (µs) | max (µs) | timeouts | errors | resolver CPU per query (µs) | answers per CPU-second |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, what in (("local_w1", "known name (1 of 1,000)"), ("local_w16", "known name (1 of 1,000)"),
                        ("forwarded_w1", "forwarded to an upstream"), ("forwarded_w16", "forwarded to an upstream")):
        g = lambda k: facts.get(f"dns_{label}.{k}", "–")
        w(f"| {what} | {label.split('_w')[1]} | {g('qps')} | {g('p50_us')} | {g('p99_us')} | {g('max_us')} "
          f"| {g('timeouts')} | {g('errors')} | {g('cpu_us_per_query')} | {g('qps_per_core')} |")
        for k in ("qps", "p50_us", "p99_us", "cpu_us_per_query", "qps_per_core"):
            csv_rows.append(["dns", label, 1000, k, g(k), 1])
    w("")
    w("Load average when the section started: " + facts.get("dns_load_average", "?") + " (wall-clock figures "
      "suffer from other load on the machine; CPU per query does much less).")
    w("")
    w(f"RSS of the resolver: {facts.get('dns_rss_kb.startup', '?')} KiB at the end of start-up, "
      f"{facts.get('dns_rss_kb.idle', '?')} KiB idle once it has trimmed (docs/dns.md, Memory), "
      f"{facts.get('dns_rss_kb.after', '?')} KiB after the load ({facts.get('dns_rss_kb.anon', '?')} KiB of it anonymous), "
      f"peak {facts.get('dns_rss_kb.peak', '?')} KiB. "
      f"Reload of the 1,000-name table (SIGHUP to logged): {int(facts.get('dns_reload_us', '0')) / 1000:.1f} ms.")


def median_interval(values, resamples=2000, seed=14):
    """A 90 % bootstrap interval of the median of `values`: the 5th and 95th percentiles of the
    medians of `resamples` resamples drawn with replacement (a fixed seed: the same samples
    give the same interval)."""
    draw = random.Random(seed)
    medians = sorted(statistics.median(draw.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.05 * resamples)], medians[int(0.95 * resamples) - 1]


def hook_section(facts, checks, fig, w, csv_rows, samples):
    """Section 8: runc run -d and delete of a busybox bundle without and with berth-oci-hook;
    returns what the hook adds to run -d (nan when not measured), a 90 % interval of it
    (`median_interval`) and what the C floor adds as the same hooks: the median of the paired
    differences — each rep runs the plain bundle, then (when the bench has them) the ones with
    /bin/true and with the floor as hooks, then the hooked one, so a difference within a rep
    carries little of the machine's drift, which a difference of two medians taken over the
    whole section does. The /bin/true and floor rows are context only: runc's own spread from
    run to run (several ms) is as large as what they add."""
    w("")
    w("### 8. OCI hook: `runc run -d` of a busybox httpd bundle, without and with `berth-oci-hook`")
    w("")
    if facts.get("hook") != "measured":
        w(f"Not measured: {facts.get('hook', 'the section did not run')}.")
        return float("nan"), (float("nan"), float("nan")), float("nan")
    ok, total = checks[("hook", 1)]
    w(f"{facts.get('version.runc', 'runc')}; with the hook: createRuntime + poststop, `berth.publish=8080:80` "
      f"on Berth's default network. Checks: {ok}/{total}.")
    w("")
    w("| command | without hook: median (p90) ms | with hook: median (p90) ms | the hook adds: median of the paired differences (difference of the medians) | samples |")
    w("|---|---:|---:|---:|---:|")
    added = float("nan")
    interval = (float("nan"), float("nan"))
    floor_added = float("nan")
    beyond = {}
    def context_row(op, bundle, name, text):
        """A context bundle's row and CSV figures against the plain bundle of the same reps;
        returns its samples in rep order ([] when the run had no such bundle)."""
        timed = [us for _, us in samples.get(("hook", "runc", 1, f"{op}-{bundle}"), [])]
        if not timed:
            return []
        plain = [us for _, us in samples.get(("hook", "runc", 1, f"{op}-plain"), [])]
        p_med, p_p90, _ = fig("hook", "runc", 1, f"{op}-plain")
        med, p90, count = fig("hook", "runc", 1, f"{op}-{bundle}")
        diffs = [t - p for p, t in zip(plain, timed)]
        paired = statistics.median(diffs)
        w(f"| {text} | {ms(p_med)} ({ms(p_p90)}) | {ms(med)} ({ms(p90)}) | {ms(paired)} ms ({ms(med - p_med)} ms) | {count} |")
        csv_rows.append(["hook", "runc", 1, f"{op}_{name}_median", f"{med / 1000:.3f}", count])
        csv_rows.append(["hook", "runc", 1, f"{op}_{name}_added_paired_median", f"{paired / 1000:.3f}", len(diffs)])
        return timed

    for op, label in (("run-d", "`runc run -d`"), ("delete", "`runc kill` … `runc delete` (poststop runs in delete)")):
        p_med, p_p90, count = fig("hook", "runc", 1, f"{op}-plain")
        # Each list is in rep order (oci-hook.sh writes rep by rep: plain, /bin/true, floor,
        # hooked, in a balanced order), so pairs are of one rep.
        plain = [us for _, us in samples.get(("hook", "runc", 1, f"{op}-plain"), [])]
        # Context: runc with /bin/true as the hook — what running any hook costs runc, which
        # the hook's figure includes — and the C floor as the same two hooks: the least a hook
        # can do for this wiring, paying the same runc and fresh namespaces as berth-oci-hook
        # (runs without these bundles have no such samples).
        true_hook = context_row(op, "true", "true_hook", f"{label}, runc with a /bin/true hook (context: runc's own cost of running a hook)")
        floor_hook = context_row(op, "floor", "floor_hook", f"{label}, the C floor as its hooks (`floor hook-attach`, `floor detach`)")
        if op == "run-d" and floor_hook:
            floor_added = statistics.median([f - p for p, f in zip(plain, floor_hook)])
        h_med, h_p90, _ = fig("hook", "runc", 1, f"{op}-hook")
        hooked = [us for _, us in samples.get(("hook", "runc", 1, f"{op}-hook"), [])]
        diffs = [h - p for p, h in zip(plain, hooked)]
        paired = statistics.median(diffs) if diffs else float("nan")
        w(f"| {label} | {ms(p_med)} ({ms(p_p90)}) | {ms(h_med)} ({ms(h_p90)}) | {ms(paired)} ms ({ms(h_med - p_med)} ms) | {count} |")
        csv_rows.append(["hook", "runc", 1, f"{op}_plain_median", f"{p_med / 1000:.3f}", count])
        csv_rows.append(["hook", "runc", 1, f"{op}_hook_median", f"{h_med / 1000:.3f}", count])
        csv_rows.append(["hook", "runc", 1, f"{op}_added_paired_median", f"{paired / 1000:.3f}", len(diffs)])
        if true_hook:
            beyond_diffs = [h - t for t, h in zip(true_hook, hooked)]
            beyond[op] = statistics.median(beyond_diffs)
            csv_rows.append(["hook", "runc", 1, f"{op}_hook_beyond_true_paired_median", f"{beyond[op] / 1000:.3f}", len(beyond_diffs)])
        if op == "run-d" and diffs:
            added = paired
            interval = median_interval(diffs)
            added_n = len(diffs)
            csv_rows.append(["hook", "runc", 1, "run-d_added_paired_median_p05", f"{interval[0] / 1000:.3f}", len(diffs)])
            csv_rows.append(["hook", "runc", 1, "run-d_added_paired_median_p95", f"{interval[1] / 1000:.3f}", len(diffs)])
    if added == added:
        w("")
        w(f"What the hook adds to `run -d`, resampled: the medians of 2,000 bootstrap resamples of its {added_n} "
          f"paired differences lie between {ms(interval[0])} and {ms(interval[1])} ms in 90 % of them (runc's spread "
          "from rep to rep, more than the hook's, makes the width; drift between whole runs of the bench is not in it).")
    if "run-d" in beyond and "delete" in beyond:
        w("")
        w("The /bin/true rows are context, not part of the target: what the hook adds includes runc's own cost of "
          "starting a hook process, writing it the state and waiting for it, which any hook pays. The hook beyond "
          f"a /bin/true hook (median of the paired differences): `run -d` {ms(beyond['run-d'])} ms, "
          f"kill … `delete` {ms(beyond['delete'])} ms.")
    if samples.get(("hook", "runc", 1, "run-d-floor")):
        w("")
        w("The floor's rows are context too: it does the same wiring as the least a hook can, but what a hook adds "
          "under 4 ms is within runc's own spread from run to run, so they show its order of size, not a ratio. "
          "Its poststop deletes the veth before it returns, where berth-oci-hook hands that deletion to a child "
          "it does not wait for: the delete rows are not a like-for-like comparison.")
    return added, interval, floor_added


LAB_NODES = 50


def lab_section(facts, checks, fig, w, csv_rows):
    """Section 9: berth lab up and down of a 50-node chain and of a lab with a container."""
    w("")
    w(f"### 9. Labs: `berth lab up` and `down` of a {LAB_NODES}-node chain and of a lab with a container")
    w("")
    if facts.get("lab") != "measured":
        w(f"Not measured: {facts.get('lab', 'the section did not run')}.")
        return
    ok = sum(checks[("lab", n)][0] for n in (LAB_NODES, 2))
    total = sum(checks[("lab", n)][1] for n in (LAB_NODES, 2))
    w(f"Whole commands (start-up, the exec of berth-lab, YAML, kernel work). Chain: {LAB_NODES} namespaces, "
      f"{LAB_NODES - 1} veth pairs with addresses, routes and ip_forward; web: a Berth network, a router, busybox "
      f"httpd in a container published on :8080. Checks (ping end to end, page through the port, nothing left): {ok}/{total}.")
    w("")
    w("| command | median ms | p90 ms | samples |")
    w("|---|---:|---:|---:|")
    for n, op, label in ((LAB_NODES, "up", f"`berth lab up` ({LAB_NODES}-node chain)"),
                         (LAB_NODES, "down", f"`berth lab down` ({LAB_NODES}-node chain)"),
                         (2, "web-up", "`berth lab up` (network, published port, container)"),
                         (2, "web-down", "`berth lab down` (network, published port, container)")):
        med, p90, count = fig("lab", "berth-lab", n, op)
        w(f"| {label} | {ms(med)} | {ms(p90)} | {count} |")
        csv_rows.append(["lab", "berth-lab", n, f"{op}_median", f"{med / 1000:.3f}", count])


def lab_targets(fig, row):
    up, down = fig("lab", "berth-lab", LAB_NODES, "up")[0], fig("lab", "berth-lab", LAB_NODES, "down")[0]
    if up == up:
        row(f"`berth lab up` of a {LAB_NODES}-node chain ≤ 250 ms", f"{ms(up)} ms", up <= 250_000)
        row(f"`berth lab down` of a {LAB_NODES}-node chain ≤ 500 ms", f"{ms(down)} ms", down <= 500_000)


def dns_targets(facts, row):
    if facts.get("dns") != "measured":
        return
    qps = float(facts.get("dns_local_w16.qps", "0"))
    per_core = float(facts.get("dns_local_w16.qps_per_core", "0"))
    p99 = int(facts.get("dns_local_w1.p99_us", "0"))
    rss = int(facts.get("dns_rss_kb.after", "0"))
    row("≥ 20,000 local answers/s on one core", f"{qps:,.0f} /s measured (16 in flight); {per_core:,.0f} per CPU-second",
        qps >= 20000)
    row("local answer p99 < 1 ms", f"{p99} µs (1 in flight)", 0 < p99 < 1000)
    startup = int(facts.get("dns_rss_kb.startup", "0") or 0)
    row("resolver RSS ≤ 8 MB", f"{rss / 1024:.1f} MiB serving (after the load); {startup / 1024:.1f} MiB at the end of start-up, "
        "before trimming", 0 < rss <= 8 * 1024)


def write_results(out, lines, csv_rows):
    text = "\n".join(lines) + "\n"
    with open(f"{out}/results.md", "w") as f:
        f.write(text)
    with open(f"{out}/results.csv", "w", newline="") as f:
        csv.writer(f).writerows(csv_rows)
    print(text)


def rss_label(key):
    if key.startswith("lib_maxrss_kb"):
        return f"berth-bench (library, whole run of {key.split('.')[1][1:]} attaches + detaches, round {key.split('.')[2][1:]})"
    if key == "rss_kb.hook_poststop_unknown":
        return "`berth-oci-hook poststop` of an unknown container"
    parts = key.split(".")
    what = {"rss_attach_kb": "attach", "rss_detach_kb": "detach"}.get(parts[0], parts[0])
    where = "beside 1,000-port publishing" if parts[2] == "range" else f"at N = {parts[2][1:]}"
    return f"{parts[1]} {what} {where}"


if __name__ == "__main__":
    main(sys.argv[1])
