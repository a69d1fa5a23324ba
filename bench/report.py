#!/usr/bin/env python3
"""Turns bench/run.sh's rows into its table (stdout) and bench/results.json.

Usage: bench/report.py ROWS.tsv OUT.json QUICK
       bench/report.py --markdown RESULTS.json   (the table of docs/performance.md)
       bench/report.py --svg RESULTS.json OUT.svg (the chart of docs/performance.md)

Exits 1 when a row has no figure (0: the measurement failed); a missed goal is reported, not an
error.

Each row of ROWS.tsv: id, better (higher|lower), unit, peer, peer value ("-" when there is no
peer or it was left out, "" when its measurement failed), our value ("" when it failed), goal ("ratio>=X", "ours>=X", "ours<X" or "-"), what. The ratio says how many times
better ours is: ours/peer when higher is better, peer/ours when lower is better. The format of
results.json is documented in docs/performance.md.
"""
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys


def machine():
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    distro = ""
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(mem_kb / 2**20, 1),
        "os": distro,
        "kernel": platform.release(),
    }


def commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def number(text):
    """None for "-" (no figure wanted); raises ValueError for "" or junk (a failed measurement)."""
    return None if text == "-" else float(text)


def evaluate(goal, ours, ratio):
    if goal == "-":
        return None
    kind, _, bound = goal.partition(">=") if ">=" in goal else goal.partition("<")
    bound = float(bound)
    if kind == "ratio":
        return None if ratio is None else ratio >= bound
    return ours >= bound if ">=" in goal else ours < bound


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:,.0f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def markdown(path):
    with open(path) as f:
        result = json.load(f)
    print("| row | what | peer | peer's figure | ours | ratio | goal | |")
    print("|---|---|---|---:|---:|---:|---|---|")
    for r in result["rows"]:
        met = {None: "", True: "met", False: "**missed**"}[r["goal_met"]]
        ratio = f"{r['ratio']:.2f}×" if r["ratio"] is not None else "—"
        peer_value = f"{fmt(r['peer_value'])} {r['unit']}" if r["peer_value"] is not None else "—"
        print(f"| `{r['id']}` | {r['what']} | {r['peer'] or '—'} | {peer_value} | "
              f"{fmt(r['ours'])} {r['unit']} | {ratio} | {r['goal'] or '—'} | {met} |")


def xml_text(text):
    """Text for SVG content or a quoted attribute: markup characters escaped, control
    characters replaced."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "\ufffd", str(text))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def goal_as_ratio(r):
    """The goal of row r on the ratio axis: ratio>=X is X; ours>=X or ours<X becomes the ratio
    that ours would have at the bound, when there is a peer; None otherwise."""
    goal = r["goal"]
    if not goal:
        return None
    if goal.startswith("ratio>="):
        return float(goal.split(">=", 1)[1])
    bound = float(re.split(">=|<", goal, maxsplit=1)[1])
    if not r["peer_value"] or bound <= 0:
        return None
    return bound / r["peer_value"] if r["better"] == "higher" else r["peer_value"] / bound


def svg_chart(result):
    """The rows as an SVG bar chart: per row, how many times better ours is than its peer, on a
    logarithmic axis with 1x (a tie) drawn, the goal marked, met or missed in colour and words."""
    rows = result["rows"]
    width, label_w, status_w, row_h, top = 990, 260, 150, 38, 78
    left, right = label_w, width - status_w
    height = top + row_h * len(rows) + 46
    values = [1.0]
    for r in rows:
        values += [v for v in (r["ratio"], goal_as_ratio(r)) if v]
    lo = 10 ** math.floor(math.log10(min(values) / 1.2))
    hi = 10 ** math.ceil(math.log10(max(values) * 1.2))

    def x(v):
        if v <= 0:  # a failed measurement's 0: the axis' left end, never log10(0)
            return left
        f = (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return round(left + min(max(f, 0), 1) * (right - left), 2)

    colours = {True: "#2e8b57", False: "#c0392b", None: "#7f8c9a"}
    m = result["machine"]
    title = (f"pop3kit against its peers: how many times better ours is (bench/run.sh, "
             f"{result['date'][:10]}, commit {result['commit']})")
    sub = (f"{m['cores']} cores ({m['cpu']}), {m['os']}; logarithmic axis, 1\u00d7 = as good as the "
           f"peer; black tick = goal")
    if result.get("quick"):
        sub += "; --quick: a check of the suite, not a measurement"
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" role="img">',
         f"<title>{xml_text(title)}</title>",
         f'<rect width="{width}" height="{height}" fill="#fff"/>',
         f'<text x="10" y="22" font-size="14" font-weight="bold">{xml_text(title)}</text>',
         f'<text x="10" y="42" fill="#555">{xml_text(sub)}</text>']
    # The legend.
    lx = 10
    for text, colour in (("goal met", colours[True]), ("goal missed", colours[False]),
                         ("no goal on the ratio", colours[None])):
        o.append(f'<rect x="{lx}" y="52" width="12" height="12" fill="{colour}"/>'
                 f'<text x="{lx + 16}" y="62">{xml_text(text)}</text>')
        lx += 30 + 7 * len(text)
    bottom = top + row_h * len(rows)
    for i in range(1, len(rows), 2):  # every other row shaded, under the grid
        o.append(f'<rect x="0" y="{top + i * row_h}" width="{width}" height="{row_h}" '
                 f'fill="#f4f4f4"/>')
    # Ticks: 1, 2, 5 times the powers of ten, the labels of 1x and the powers of ten.
    e = round(math.log10(lo))
    while 10 ** e <= hi:
        for mult in (1, 2, 5):
            v = mult * 10 ** e
            if lo <= v <= hi:
                stroke = 'stroke="#888" stroke-width="1.5"' if v == 1 else 'stroke="#e4e4e4"'
                o.append(f'<line x1="{x(v)}" x2="{x(v)}" y1="{top - 4}" y2="{bottom}" {stroke}/>')
                label = f"{v:g}\u00d7"
                o.append(f'<text x="{x(v)}" y="{bottom + 16}" text-anchor="middle" '
                         f'fill="#555" font-size="11">{xml_text(label)}</text>')
        e += 1
    o.append(f'<text x="{(left + right) / 2}" y="{bottom + 34}" text-anchor="middle" fill="#333">'
             f'{xml_text("ours against the peer (higher: ours better)")}</text>')
    for i, r in enumerate(rows):
        y = top + i * row_h
        mid = y + row_h / 2
        met = r["goal_met"]
        tip = f"{r['id']}: {r['what']}"
        o.append(f"<g><title>{xml_text(tip)}</title>")
        o.append(f'<text x="10" y="{mid - 2}" font-family="monospace">{xml_text(r["id"])}</text>')
        peer = f"vs {r['peer']}" if r["peer"] else "no peer"
        o.append(f'<text x="10" y="{mid + 12}" fill="#666" font-size="10.5">'
                 f"{xml_text(peer)}</text>")
        goal_ratio = goal_as_ratio(r)
        # The bar is coloured by the goal when the goal sits on the ratio axis.
        bar_colour = colours[met if goal_ratio is not None else None]
        if r["ratio"] is not None:
            x0, x1 = sorted((x(1), x(r["ratio"])))
            o.append(f'<rect x="{x0}" y="{mid - 8}" width="{max(x1 - x0, 1.5)}" height="16" '
                     f'fill="{bar_colour}"/>')
            text = f"{r['ratio']:.2f}\u00d7"
            at, anchor = (x1 + 4, "start") if r["ratio"] >= 1 else (x0 - 4, "end")
            o.append(f'<text x="{at}" y="{mid + 4}" text-anchor="{anchor}">{xml_text(text)}'
                     f"</text>")
        else:
            text = f"ours {fmt(r['ours'])} {r['unit']} (no ratio: no peer)"
            o.append(f'<text x="{x(1) + 4}" y="{mid + 4}" fill="#333">{xml_text(text)}</text>')
        if goal_ratio is not None:
            gx = x(goal_ratio)
            o.append(f'<line x1="{gx}" x2="{gx}" y1="{mid - 13}" y2="{mid + 13}" stroke="#000" '
                     f'stroke-width="2.5"/>')
        status = {True: "met", False: "MISSED", None: "no goal"}[met]
        goal_text = r["goal"] or ""
        if goal_text.startswith("ours"):
            goal_text += f" {r['unit']}"
        o.append(f'<text x="{right + 10}" y="{mid - 2}" fill="{colours[met]}" '
                 f'font-weight="bold">{xml_text(status)}</text>')
        if goal_text:
            o.append(f'<text x="{right + 10}" y="{mid + 12}" fill="#666" font-size="10.5">'
                     f"{xml_text(goal_text)}</text>")
        o.append("</g>")
    o.append(f'<polyline fill="none" stroke="#333" points="{left},{top - 4} {left},{bottom} '
             f'{right},{bottom}"/>')
    o.append("</svg>")
    return "\n".join(o) + "\n"


def write_svg(results_path, svg_path):
    with open(results_path) as f:
        result = json.load(f)
    with open(svg_path, "w", encoding="utf-8") as f:
        f.write(svg_chart(result))


def main():
    if sys.argv[1] == "--markdown":
        markdown(sys.argv[2])
        return
    if sys.argv[1] == "--svg":
        write_svg(sys.argv[2], sys.argv[3])
        return
    rows_path, out_path, quick = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    rows, failed = [], []
    with open(rows_path) as f:
        for line in f:
            ident, better, unit, peer, peer_value, ours, goal, what = line.rstrip("\n").split("\t")
            try:
                peer_value, ours = number(peer_value), float(ours)
            except ValueError:
                failed.append(ident)
                continue
            ratio = None
            if peer_value:
                ratio = ours / peer_value if better == "higher" else (peer_value / ours if ours else None)
            rows.append({
                "id": ident, "what": what, "unit": unit, "better": better,
                "peer": peer if peer != "-" else None, "peer_value": peer_value, "ours": ours,
                "ratio": round(ratio, 3) if ratio is not None else None,
                "goal": goal if goal != "-" else None, "goal_met": evaluate(goal, ours, ratio),
            })
    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(),
        "quick": quick,
        "machine": machine(),
        "rows": rows,
    }
    with open(out_path, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")

    m = result["machine"]
    print(f"pop3kit bench, {result['date']}, commit {result['commit']}, {m['cores']} cores "
          f"({m['cpu']}), {m['memory_gib']} GiB, {m['os']}" + (" [--quick: not a measurement]" if quick else ""))
    header = ("id", "unit", "peer", "peer value", "ours", "ratio", "goal", "")
    table = [header]
    for r in rows:
        met = {None: "", True: "met", False: "MISSED"}[r["goal_met"]]
        table.append((r["id"], r["unit"], r["peer"] or "—", fmt(r["peer_value"]), fmt(r["ours"]),
                      f"{r['ratio']:.2f}x" if r["ratio"] is not None else "—", r["goal"] or "—", met))
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"written: {out_path}")
    missed = [r["id"] for r in rows if r["goal_met"] is False]
    if missed:
        print("goals missed" + (" (a --quick run is not a measurement)" if quick else "") + ": " +
              ", ".join(missed))
    # No figure, or a zero, is a measurement that failed (no connection held), not a slow result.
    broken = failed + [r["id"] for r in rows if r["ours"] <= 0 or r["peer_value"] == 0]
    if broken:
        print("bench: no figure for " + ", ".join(broken), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
