#!/usr/bin/env python3
"""Numbers for bench/run.sh and bench/idle.sh from the raw files they leave.

  report.py other A B CLK_TCK          fraction of one core used by processes
                                       not in the samples' pid list
  report.py mbit IPERF_JSON            one line: Mbit/s and retransmits
  report.py final RESULTS CLK_TCK [--json FILE|-]
                                       the table (stdout) and the JSON
  report.py idle RESULTS CLK_TCK [--json FILE|-]
  report.py compare OUT LABEL_A LABEL_B [--max-other F]
                                       bench/compare.sh's side-by-side table of
                                       OUT/LABEL.PAIRING.ROUND.json, then the same of the
                                       quiet runs only (other load <= F, default 0.10);
                                       OUT/compare.json
"""
import json
import math
import os
import statistics
import sys

PAIR_ORDER = ["stock-ssh/stock-sshd", "stock-ssh/feth-sshd", "feth-ssh/stock-sshd", "feth-ssh/feth-sshd"]
BASE = "stock-ssh/stock-sshd"


# ---------- raw samples ----------
def read_snapshot(path):
    snap = {"t": 0.0, "cpu": [], "pids": {}, "ifs": {}}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "T":
                snap["t"] = float(parts[1])
            elif parts[0] == "CPU":
                snap["cpu"] = [int(x) for x in parts[1:]]
            elif parts[0] == "P":
                snap["pids"][parts[1]] = int(parts[2])
            elif parts[0] == "NS":
                ns = parts[1]
                rest = line.split(None, 2)[2]
                name, nums = rest.split(":", 1)
                v = [int(x) for x in nums.split()]
                # /proc/net/dev: rx bytes packets errs drop fifo frame compressed multicast,
                #                tx bytes packets errs drop fifo colls carrier compressed
                snap["ifs"][(ns, name.strip())] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_drop": v[3],
                                                   "tx_bytes": v[8], "tx_packets": v[9], "tx_drop": v[11]}
    return snap


def busy(cpu):
    # user nice system idle iowait irq softirq steal ...: everything but idle and iowait
    user, nice, system, idle, iowait, irq, softirq, steal = (cpu + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal


def pid_delta(a, b, pid):
    if pid in a["pids"] and pid in b["pids"] and b["pids"][pid] >= a["pids"][pid]:
        return b["pids"][pid] - a["pids"][pid]
    return 0


def other_frac(a, b, clk):
    """Fraction of one core used by processes outside the samples' pid list.
    Tick accounting: softirq work done while our processes run is charged to
    them and to the machine's softirq column both, so subtracting our pids'
    time from all busy time leaves what others did (clamped at 0)."""
    elapsed = max(b["t"] - a["t"], 1e-6)
    ours = sum(pid_delta(a, b, p) for p in a["pids"])
    other = max(0, busy(b["cpu"]) - busy(a["cpu"]) - ours)
    return other / clk / elapsed


# ---------- iperf3 and ping ----------
def iperf_result(path):
    try:
        with open(path) as f:
            d = json.load(f)
    except (OSError, ValueError):
        return None
    if "error" in d and "end" not in d:
        return {"error": d["error"]}
    end = d.get("end", {})
    rcv = end.get("sum_received", {})
    snt = end.get("sum_sent", {})
    return {"mbit": rcv.get("bits_per_second", 0) / 1e6, "bytes": rcv.get("bytes", 0),
            "retransmits": snt.get("retransmits"), "seconds": rcv.get("seconds")}


def ping_result(path):
    try:
        text = open(path).read()
    except OSError:
        return None
    times = []
    loss = None
    for line in text.splitlines():
        if "time=" in line:
            try:
                times.append(float(line.split("time=")[1].split()[0]))
            except (IndexError, ValueError):
                pass
        if "packet loss" in line:
            for part in line.split(","):
                if "packet loss" in part:
                    loss = float(part.strip().split("%")[0])
    if not times:
        return {"count": 0, "loss_pct": loss}
    times.sort()
    p99 = times[min(len(times) - 1, math.ceil(0.99 * len(times)) - 1)]
    return {"count": len(times), "min_ms": times[0], "avg_ms": statistics.mean(times), "p99_ms": p99,
            "max_ms": times[-1], "loss_pct": loss}


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------- a pairing ----------
def read_meta(pdir):
    meta = {}
    try:
        for line in open(os.path.join(pdir, "meta")):
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                meta[k] = v
    except OSError:
        pass
    return meta


def pids_of(meta, key):
    return [p for p in meta.get(key, "").split() if p]


def count_in(path, needle):
    try:
        return sum(1 for line in open(path, errors="replace") if needle in line)
    except OSError:
        return None


def feth_pump_drops(path):
    """feth-sshd logs 'Tunnel X closed (...): N frames out, M in, K dropped'."""
    total = None
    try:
        for line in open(path, errors="replace"):
            if "frames out" in line and "dropped" in line:
                k = line.rsplit("dropped", 1)[0].split(",")[-1].strip()
                total = (total or 0) + int(k.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return total


def feth_pump_device_busy(path):
    """...K dropped, device busy B times': writes the device put off (kept, retried)."""
    total = None
    try:
        for line in open(path, errors="replace"):
            if "frames out" in line and "device busy" in line:
                total = (total or 0) + int(line.rsplit("device busy", 1)[1].split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return total


def pairing_result(pdir, clk):
    name = open(os.path.join(pdir, "name")).read().strip()
    status = open(os.path.join(pdir, "status")).read().strip() if os.path.exists(os.path.join(pdir, "status")) else "incomplete"
    res = {"pairing": name, "status": status}
    if status != "ok":
        return res
    meta = read_meta(pdir)
    cpids = pids_of(meta, "client_pids")
    spids = pids_of(meta, "server_pids")
    conn = pids_of(meta, "server_conn_pids")
    sif, cif, io_peer = meta.get("server_if"), meta.get("client_if"), meta.get("io_peer")
    res["devices"] = {"server": sif, "client": cif, "server_mtu": meta.get("server_mtu"), "client_mtu": meta.get("client_mtu")}
    res["processes"] = {p: meta.get("comm." + p, "") for p in spids + cpids}
    res["notes"] = open(os.path.join(pdir, "notes")).read().strip() if os.path.exists(os.path.join(pdir, "notes")) else ""
    res["ping"] = ping_result(os.path.join(pdir, "ping.txt"))

    conn_ticks = {p: 0 for p in conn}
    for d in ("c2s", "s2c"):
        runs = []
        rep = 1
        while os.path.exists(os.path.join(pdir, f"{d}.{rep}.iperf.json")):
            base = os.path.join(pdir, f"{d}.{rep}")
            run = {"rep": rep}
            ip = iperf_result(base + ".iperf.json")
            if ip:
                run.update(ip)
            try:
                a, b = read_snapshot(base + ".a"), read_snapshot(base + ".b")
                el = b["t"] - a["t"]
                ct = sum(pid_delta(a, b, p) for p in cpids)
                st = sum(pid_delta(a, b, p) for p in spids)
                for p in conn:
                    conn_ticks[p] += pid_delta(a, b, p)
                k = ("srv", sif)
                frames = 0
                if k in a["ifs"] and k in b["ifs"]:
                    frames = (b["ifs"][k]["rx_bytes"] - a["ifs"][k]["rx_bytes"]) + (b["ifs"][k]["tx_bytes"] - a["ifs"][k]["tx_bytes"])
                gb = frames / 1e9
                run.update({"window_s": el, "tunnel_bytes": frames,
                            "client_cpu_s": ct / clk, "server_cpu_s": st / clk,
                            "client_core_frac": ct / clk / el, "server_core_frac": st / clk / el,
                            "client_cpu_s_per_gb": (ct / clk / gb) if gb > 0 else None,
                            "server_cpu_s_per_gb": (st / clk / gb) if gb > 0 else None,
                            "other_core_frac": other_frac(a, b, clk)})
            except (OSError, ValueError, KeyError):
                pass
            runs.append(run)
            rep += 1
        res[d] = {"runs": runs,
                  "mbit": median([r.get("mbit") for r in runs]),
                  "retransmits": sum(r.get("retransmits") or 0 for r in runs),
                  "client_cpu_s_per_gb": median([r.get("client_cpu_s_per_gb") for r in runs]),
                  "server_cpu_s_per_gb": median([r.get("server_cpu_s_per_gb") for r in runs]),
                  "client_core_frac": median([r.get("client_core_frac") for r in runs]),
                  "server_core_frac": median([r.get("server_core_frac") for r in runs]),
                  "other_core_frac_max": max([r.get("other_core_frac", 0) for r in runs] or [0])}

    holder = meta.get("device_holder") or (max(conn_ticks, key=conn_ticks.get) if conn_ticks else "")
    hwm = {p: int(meta["hwm." + p]) for p in conn if meta.get("hwm." + p, "").isdigit()}
    pss = {p: int(meta["pss." + p]) for p in conn if meta.get("pss." + p, "").isdigit()}
    idle = {p: int(meta["idle_rss." + p]) for p in conn if meta.get("idle_rss." + p, "").isdigit()}
    res["server_memory_kb"] = {"data_path_pid": holder, "data_path_how": "holds /dev/net/tun" if meta.get("device_holder") else "busiest per-connection process",
                               "data_path_vmhwm": hwm.get(holder), "conn_procs_vmhwm_sum": sum(hwm.values()) if hwm else None,
                               "conn_procs_pss_sum": sum(pss.values()) if pss else None,
                               "conn_procs_idle_vmrss_sum": sum(idle.values()) if idle else None,
                               "per_process_vmhwm": hwm}
    drops = {}
    drops_detail = {}  # which side of which device: tells a full read queue (tx) from a refused write (rx)
    try:
        a, b = read_snapshot(os.path.join(pdir, "begin")), read_snapshot(os.path.join(pdir, "end"))
        for ns, dev in (("srv", sif), ("cli", cif), ("srv", io_peer)):
            k = (ns, dev)
            if dev and k in a["ifs"] and k in b["ifs"]:
                rx = b["ifs"][k]["rx_drop"] - a["ifs"][k]["rx_drop"]
                tx = b["ifs"][k]["tx_drop"] - a["ifs"][k]["tx_drop"]
                drops[f"{ns}:{dev}"] = rx + tx
                drops_detail[f"{ns}:{dev}"] = {"rx_drop": rx, "tx_drop": tx}
    except (OSError, ValueError):
        pass
    res["interface_drops"] = drops
    res["interface_drops_detail"] = drops_detail
    res["feth_sshd_pump_drops"] = feth_pump_drops(os.path.join(pdir, "feth-sshd.log")) if name.endswith("feth-sshd") else None
    res["feth_sshd_device_busy"] = feth_pump_device_busy(os.path.join(pdir, "feth-sshd.log")) if name.endswith("feth-sshd") else None
    # OpenSSH at LogLevel DEBUG1 logs "datagram too big" for each tunnel frame it
    # drops because the peer's window (or max packet) cannot take it now
    od = [count_in(os.path.join(pdir, f), "datagram too big") for f, who in
          (("client.log", "stock-ssh/"), ("stock-sshd.log", "/stock-sshd")) if who in name]
    od = [x for x in od if x is not None]
    res["openssh_datagram_drops"] = sum(od) if od else None
    # stock ssh and sshd at LogLevel DEBUG1 log every key exchange
    n = count_in(os.path.join(pdir, "client.log"), "SSH2_MSG_NEWKEYS received") if name.startswith("stock-ssh") else None
    res["rekeys_seen_by_stock_ssh"] = (n - 1) if n else None
    n = count_in(os.path.join(pdir, "stock-sshd.log"), "SSH2_MSG_NEWKEYS received") if name.endswith("stock-sshd") else None
    res["rekeys_seen_by_stock_sshd"] = (n - 1) if n else None
    res["kex"] = kex_of(pdir)
    res["profile"] = profile_of(pdir)
    return res


def kex_of(pdir):
    """The key exchange method, as a stock program logged it at DEBUG1 ("kex: algorithm: X");
    None when neither side is OpenSSH."""
    for f in ("client.log", "stock-sshd.log"):
        try:
            for line in open(os.path.join(pdir, f), errors="replace"):
                if "kex: algorithm:" in line:
                    return line.split("kex: algorithm:", 1)[1].split()[0]
        except (OSError, IndexError):
            pass
    return None


def strace_counts(path):
    """strace -c: {syscall: calls}; {} when nothing completed; None without a file."""
    if not os.path.exists(path):
        return None
    calls = {}
    for line in open(path, errors="replace"):
        f = line.split()
        if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
            calls[f[-1]] = int(f[3])
    return calls


def profile_of(pdir):
    prof = {}
    for d in ("c2s", "s2c"):
        x = {}
        path = os.path.join(pdir, f"{d}.perf.txt")
        if os.path.exists(path):
            x["perf_top"] = [l.rstrip() for l in open(path) if l.strip()]
        try:
            frames = int(open(os.path.join(pdir, f"{d}.strace.frames")).read().strip())
        except (OSError, ValueError):
            frames = None
        for side in ("server", "client"):
            c = strace_counts(os.path.join(pdir, f"{d}.strace.{side}.txt"))
            if c is not None and frames:
                x[f"{side}_syscalls_per_frame"] = {k: round(v / frames, 3) for k, v in sorted(c.items(), key=lambda kv: -kv[1])}
                x[f"{side}_syscalls_per_frame_total"] = round(sum(c.values()) / frames, 3)
        if frames is not None:
            x["strace_frames"] = frames
        if x:
            prof[d] = x
    return prof or None


# ---------- presentation ----------
def fmt(x, nd=0):
    if x is None:
        return "-"
    return f"{x:.{nd}f}"


def app_drops(r):
    xs = [x for x in (r.get("feth_sshd_pump_drops"), r.get("openssh_datagram_drops")) if x is not None]
    return sum(xs) if xs else None


def app_drops_str(r):
    x = app_drops(r)
    return "-" if x is None else str(x)


def table(results, out):
    hdr = ["pairing (client/server)", "c2s Mbit/s", "s2c Mbit/s", "RTT min/avg/p99 ms", "cli CPU s/GB c2s/s2c",
           "srv CPU s/GB c2s/s2c", "srv RSS MB path/all", "retrans c2s/s2c", "if drops", "app drops"]
    rows = []
    for r in results:
        if r["status"] != "ok":
            rows.append([r["pairing"], r["status"]] + [""] * (len(hdr) - 2))
            continue
        p = r.get("ping") or {}
        m = r["server_memory_kb"]
        rows.append([r["pairing"], fmt(r["c2s"]["mbit"]), fmt(r["s2c"]["mbit"]),
                     f"{fmt(p.get('min_ms'), 3)}/{fmt(p.get('avg_ms'), 3)}/{fmt(p.get('p99_ms'), 3)}",
                     f"{fmt(r['c2s']['client_cpu_s_per_gb'], 2)}/{fmt(r['s2c']['client_cpu_s_per_gb'], 2)}",
                     f"{fmt(r['c2s']['server_cpu_s_per_gb'], 2)}/{fmt(r['s2c']['server_cpu_s_per_gb'], 2)}",
                     f"{fmt((m['data_path_vmhwm'] or 0) / 1024, 1)}/{fmt((m['conn_procs_vmhwm_sum'] or 0) / 1024, 1)}",
                     f"{r['c2s']['retransmits']}/{r['s2c']['retransmits']}",
                     str(sum(r["interface_drops"].values())) if r["interface_drops"] else "-",
                     app_drops_str(r)])
    w = [max(len(str(row[i])) for row in rows + [hdr]) for i in range(len(hdr))]
    line = lambda row: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(row)) + " |"
    print(line(hdr), file=out)
    print("|" + "|".join("-" * (x + 2) for x in w) + "|", file=out)
    for row in rows:
        print(line(row), file=out)


def total_cpu(r, d):
    c, s = r[d]["client_cpu_s_per_gb"], r[d]["server_cpu_s_per_gb"]
    return None if c is None or s is None else c + s


def goals(results, params):
    by = {r["pairing"]: r for r in results if r["status"] == "ok"}
    g = []
    base = by.get(BASE)

    def add(goal, met, detail):
        g.append({"goal": goal, "met": met, "detail": detail})

    ff = by.get("feth-ssh/feth-sshd")
    if base and ff:
        for d in ("c2s", "s2c"):
            b, f = base[d]["mbit"], ff[d]["mbit"]
            if b and f:
                add(f"feth<->feth {d} throughput >= 2x stock<->stock", f >= 2 * b, f"{f:.0f} vs {b:.0f} Mbit/s = {f / b:.2f}x")
        bpg, fpg = base.get("ping") or {}, ff.get("ping") or {}
        bp, fp = bpg.get("avg_ms"), fpg.get("avg_ms")
        if bp and fp:
            add("feth<->feth RTT no worse than stock<->stock", fp <= bp,
                f"avg {fp:.3f} vs {bp:.3f} ms (min {fpg['min_ms']:.3f} vs {bpg['min_ms']:.3f}, p99 {fpg['p99_ms']:.3f} vs {bpg['p99_ms']:.3f})")
        for d in ("c2s", "s2c"):
            b, f = total_cpu(base, d), total_cpu(ff, d)
            if b and f:
                add(f"feth<->feth {d} CPU/GB (client+server) <= half of stock<->stock", f <= b / 2, f"{f:.2f} vs {b:.2f} s/GB = {f / b:.2f}x")
    for name, side, label in (("stock-ssh/feth-sshd", "server_cpu_s_per_gb", "feth-sshd vs sshd"),
                              ("feth-ssh/stock-sshd", "client_cpu_s_per_gb", "feth-ssh vs ssh")):
        r = by.get(name)
        if not (base and r):
            continue
        for d in ("c2s", "s2c"):
            b, f = base[d]["mbit"], r[d]["mbit"]
            if b and f:
                add(f"{name} {d} throughput >= stock<->stock", f >= b, f"{f:.0f} vs {b:.0f} Mbit/s = {f / b:.2f}x")
            b, f = base[d][side], r[d][side]
            if b and f:
                add(f"{name} {d} CPU/GB {label} below OpenSSH's", f < b, f"{f:.2f} vs {b:.2f} s/GB = {f / b:.2f}x")
    if params.get("rekey_limit"):
        for r in by.values():
            pump = app_drops(r)
            ifd = sum(r["interface_drops"].values()) if r["interface_drops"] else 0
            rk = r.get("rekeys_seen_by_stock_ssh") if r.get("rekeys_seen_by_stock_ssh") is not None else r.get("rekeys_seen_by_stock_sshd")
            ok = (pump in (None, 0)) and ifd == 0
            add(f"{r['pairing']}: no frame dropped across re-keys (RekeyLimit {params['rekey_limit']})", ok,
                f"re-keys seen {rk if rk is not None else '?'}, app drops {pump if pump is not None else 'n/a'}, "
                f"interface drops {ifd}, TCP retransmits {r['c2s']['retransmits']}/{r['s2c']['retransmits']}")
    return g


def final(rdir, clk, json_path):
    params = json.load(open(os.path.join(rdir, "params.json")))
    machine = json.load(open(os.path.join(rdir, "machine.json")))
    pdirs = []
    root = os.path.join(rdir, "pairings")
    if os.path.isdir(root):
        pdirs = [os.path.join(root, d) for d in os.listdir(root)]
    results = [pairing_result(p, clk) for p in pdirs]
    results.sort(key=lambda r: PAIR_ORDER.index(r["pairing"]) if r["pairing"] in PAIR_ORDER else 99)
    disturbed = open(os.path.join(rdir, "disturbed")).read().strip() == "1"
    quiet = float(open(os.path.join(rdir, "quiet_before.txt")).read().strip() or 0)
    others = [r[d]["other_core_frac_max"] for r in results if r["status"] == "ok" for d in ("c2s", "s2c")]
    underlay = ping_result(os.path.join(rdir, "underlay_ping.txt"))
    doc = {"params": params, "machine": machine, "disturbed": disturbed,
           "quietness": {"other_core_frac_before": quiet, "other_core_frac_max_during": max(others) if others else None},
           "underlay_ping": underlay, "pairings": results, "goals": goals(results, params)}
    out = sys.stderr if json_path == "-" else sys.stdout
    if disturbed:
        print("DISTURBED: other processes were busy during this run (--force); the numbers below are not a measurement", file=out)
    print(f"mode {params['mode']}, backend {params['backend']}, cipher {params['cipher']}, MTU {params['mtu']}, "
          f"{params['reps']} x {params['time_s']} s per direction (median), RekeyLimit {params['rekey_limit'] or 'default'}", file=out)
    print(f"machine: {machine['nproc']} x {machine['cpu_model']}, kernel {machine['kernel']}; other load: "
          f"{quiet:.2f} core before, {doc['quietness']['other_core_frac_max_during'] or 0:.2f} max during; "
          f"underlay RTT avg {fmt((underlay or {}).get('avg_ms'), 3)} ms", file=out)
    table(results, out)
    for r in results:
        if r.get("notes"):
            print(f"note {r['pairing']}: {r['notes'].rstrip('; ')}", file=out)
    for r in results:
        for d, x in (r.get("profile") or {}).items():
            for side in ("server", "client"):
                if f"{side}_syscalls_per_frame" in x:
                    top = ", ".join(f"{k} {v}" for k, v in list(x[f"{side}_syscalls_per_frame"].items())[:6])
                    print(f"profile {r['pairing']} {d} {side}: {x[f'{side}_syscalls_per_frame_total']} syscalls/frame ({top})", file=out)
            for l in (x.get("perf_top") or [])[:24]:
                print(f"profile {r['pairing']} {d} perf: {l.strip()}", file=out)
    if doc["goals"]:
        print("goals:", file=out)
        for x in doc["goals"]:
            print(f"  [{'met' if x['met'] else 'NOT met'}] {x['goal']}: {x['detail']}", file=out)
    if json_path:
        text = json.dumps(doc, indent=2)
        if json_path == "-":
            print(text)
        else:
            with open(json_path, "w") as f:
                f.write(text + "\n")
            print(f"JSON: {json_path}", file=out)
    return 0


def main():
    cmd = sys.argv[1]
    if cmd == "other":
        a, b = read_snapshot(sys.argv[2]), read_snapshot(sys.argv[3])
        print(f"{other_frac(a, b, int(sys.argv[4])):.3f}")
        return 0
    if cmd == "mbit":
        r = iperf_result(sys.argv[2])
        if not r or "mbit" not in r:
            print(f"failed {r.get('error') if r else ''}")
            return 1
        print(f"{r['mbit']:.0f} Mbit/s, {r['retransmits']} retransmits")
        return 0
    json_path = None
    if "--json" in sys.argv:
        json_path = sys.argv[sys.argv.index("--json") + 1]
    if cmd == "final":
        return final(sys.argv[2], int(sys.argv[3]), json_path)
    if cmd == "idle":
        return idle(sys.argv[2], int(sys.argv[3]), json_path)
    if cmd == "compare":
        max_other = float(sys.argv[sys.argv.index("--max-other") + 1]) if "--max-other" in sys.argv else 0.10
        return compare(sys.argv[2], sys.argv[3:5], max_other)
    print(__doc__, file=sys.stderr)
    return 2


def idle(rdir, clk, json_path):
    doc = json.load(open(os.path.join(rdir, "idle.json")))
    out = sys.stderr if json_path == "-" else sys.stdout
    if doc.get("disturbed"):
        print("DISTURBED: other processes were busy during this run (--force)", file=out)
    print(f"idle tunnel for {doc['params']['seconds']} s, mode {doc['params']['mode']}, backend {doc['params']['backend']}; "
          f"other load {doc['quietness']:.2f} core", file=out)
    hdr = ["server (per-connection processes)", "RSS MB", "PSS MB", "private MB", "wake-ups/s (vol+invol ctx sw)", "CPU ms", "syscalls", "keepalives"]
    rows = []
    for s in doc["servers"]:
        if s.get("status") != "ok":
            rows.append([s["server"], s.get("status", "")] + [""] * (len(hdr) - 2))
            continue
        rows.append([s["server"], fmt(s["rss_kb"] / 1024, 2), fmt((s.get("pss_kb") or 0) / 1024, 2),
                     fmt((s.get("private_kb") or 0) / 1024, 2), fmt(s["wakeups_per_s"], 2), fmt(s["cpu_ms"]), "-" if s.get("syscalls") is None else str(s["syscalls"]),
                     str(s.get("keepalive_interval") or "off")])
    w = [max(len(str(row[i])) for row in rows + [hdr]) for i in range(len(hdr))]
    line = lambda row: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(row)) + " |"
    print(line(hdr), file=out)
    print("|" + "|".join("-" * (x + 2) for x in w) + "|", file=out)
    for row in rows:
        print(line(row), file=out)
    for s in doc["servers"]:
        for p in s.get("processes", []):
            print(f"  {s['server']}: pid {p['pid']} {p['comm']}: RSS {p['rss_kb']} kB, private {p.get('private_kb')} kB, ctx sw +{p['ctx']}, "
                  f"CPU {p['cpu_ms']} ms{', syscalls ' + p['syscall_summary'] if p.get('syscall_summary') else ''}", file=out)
    if json_path:
        text = json.dumps(doc, indent=2)
        if json_path == "-":
            print(text)
        else:
            with open(json_path, "w") as f:
                f.write(text + "\n")
    return 0


# ---------- two builds side by side (bench/compare.sh) ----------
SHORT = {"ss": "stock-ssh/stock-sshd", "sf": "stock-ssh/feth-sshd", "fs": "feth-ssh/stock-sshd", "ff": "feth-ssh/feth-sshd"}
FIGURES = [("c2s Mbit/s", "c2s", "mbit"), ("s2c Mbit/s", "s2c", "mbit"),
           ("cli CPU s/GB c2s", "c2s", "client_cpu_s_per_gb"), ("cli CPU s/GB s2c", "s2c", "client_cpu_s_per_gb"),
           ("srv CPU s/GB c2s", "c2s", "server_cpu_s_per_gb"), ("srv CPU s/GB s2c", "s2c", "server_cpu_s_per_gb")]


def compare_runs(out, label, short):
    """The rounds of one build and pairing: one dict of figures per run."""
    runs = []
    rnd = 1
    while os.path.exists(os.path.join(out, f"{label}.{short}.{rnd}.json")) or os.path.exists(os.path.join(out, f"{label}.{short}.{rnd}.txt")):
        path = os.path.join(out, f"{label}.{short}.{rnd}.json")
        run = {"round": rnd}
        try:
            doc = json.load(open(path))
            r = doc["pairings"][0]
            run["status"] = r["status"]
            if r["status"] == "ok":
                for name, d, key in FIGURES:
                    run[name] = r[d][key]
                run["other_core_frac_max"] = max(r["c2s"]["other_core_frac_max"], r["s2c"]["other_core_frac_max"])
                run["retransmits"] = r["c2s"]["retransmits"] + r["s2c"]["retransmits"]
                run["app_drops"] = app_drops(r)
                run["kex"] = r.get("kex")
        except (OSError, ValueError, KeyError, IndexError):
            run["status"] = "no result"
        runs.append(run)
        rnd += 1
    return runs


def spread(runs, name):
    xs = sorted(r[name] for r in runs if r.get(name) is not None)
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": xs[0], "max": xs[-1], "n": len(xs)}


def compare(out, labels, max_other):
    doc = {"builds": labels, "max_other": max_other}
    print("all rounds: median [min-max]; CPU s/GB per 10^9 bytes through the tunnel; "
          "other load: fraction of a core used by other processes (max of a run's two windows)")
    doc["pairings"] = compare_table(out, labels, lambda r: True)
    print(f"\nquiet rounds only (other load <= {max_other} in both windows):")
    doc["pairings_quiet"] = compare_table(out, labels, lambda r: (r.get("other_core_frac_max") or 0) <= max_other)
    with open(os.path.join(out, "compare.json"), "w") as f:
        f.write(json.dumps(doc, indent=2) + "\n")
    print(f"JSON: {os.path.join(out, 'compare.json')}")
    return 0


def compare_table(out, labels, keep):
    """Prints the side-by-side table of the runs keep() accepts; returns its entries."""
    entries = []
    hdr = ["pairing", "build", "kex"] + [n for n, _, _ in FIGURES] + ["other load", "ok runs"]
    rows = []
    for short, name in SHORT.items():
        per = {lab: [r for r in compare_runs(out, lab, short) if r.get("status") != "ok" or keep(r)] for lab in labels}
        if not any(per.values()):
            continue
        entry = {"pairing": name, "builds": {}}
        for lab in labels:
            runs = per[lab]
            figs = {n: spread(runs, n) for n, _, _ in FIGURES}
            oth = spread(runs, "other_core_frac_max")
            entry["builds"][lab] = {"runs": runs, "figures": figs, "other_core_frac_max": oth}
            cell = lambda s, nd: "-" if s is None else f"{s['median']:.{nd}f} [{s['min']:.{nd}f}-{s['max']:.{nd}f}]"
            kex = ",".join(sorted({r["kex"] for r in runs if r.get("kex")})) or "-"
            entry["builds"][lab]["kex"] = kex
            rows.append([name, lab, kex] + [cell(figs[n], 0 if "Mbit" in n else 2) for n, _, _ in FIGURES] +
                        [cell(oth, 2), f"{sum(1 for r in runs if r.get('status') == 'ok')}/{len(runs)}"])
        a, b = (entry["builds"][lab]["figures"] for lab in labels)
        change = {}
        for n, _, _ in FIGURES:
            if a[n] and b[n] and a[n]["median"]:
                change[n] = b[n]["median"] / a[n]["median"] - 1
        entry["change_b_vs_a"] = change
        rows.append([name, f"{labels[1]} vs {labels[0]}", ""] +
                    [f"{change[n] * 100:+.1f}%" if n in change else "-" for n, _, _ in FIGURES] + ["", ""])
        entries.append(entry)
    w = [max(len(str(row[i])) for row in rows + [hdr]) for i in range(len(hdr))]
    line = lambda row: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(row)) + " |"
    print(line(hdr))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for row in rows:
        print(line(row))
    return entries


if __name__ == "__main__":
    sys.exit(main())
