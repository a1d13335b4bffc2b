#!/usr/bin/env python3
"""Samples a running process: CPU ticks per thread name, machine idle/iowait, disk writes.

    python3 bench/threads.py <pid> <seconds> [step seconds, default 1]

Used to see where a bulk ingest leaves the cores idle (BENCHMARKS.md). Linux /proc only;
ticks are 1/100 s, so at a 0.5 s step a busy core shows 50.
"""
import os, sys, time, collections
pid = sys.argv[1]; dur = float(sys.argv[2]); step = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
def snap():
    d = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            s = open(f"/proc/{pid}/task/{t}/stat").read()
        except Exception: continue
        name = s[s.index('(')+1:s.rindex(')')]
        f = s[s.rindex(')')+2:].split()
        d[t] = (name[:10], int(f[11]) + int(f[12]))
    return d
def disk():
    for l in open('/proc/diskstats'):
        p = l.split()
        if p[2] == 'vda': return int(p[9]), int(p[13])
def cpu():
    p = open('/proc/stat').readline().split()[1:]
    return [int(x) for x in p]
prev = snap(); pd = disk(); pc = cpu(); t0 = time.time()
while time.time() - t0 < dur:
    time.sleep(step)
    cur = snap(); cd = disk(); cc = cpu()
    agg = collections.Counter()
    for t, (n, v) in cur.items():
        agg[n] += v - prev.get(t, (n, 0))[1]
    dc = [a-b for a, b in zip(cc, pc)]; tot = sum(dc) or 1
    top = sorted(agg.items(), key=lambda x:-x[1])[:5]
    print(f"{time.time()-t0:5.1f} idle={100*dc[3]/tot:3.0f}% iow={100*dc[4]/tot:3.0f}% wMB={(cd[0]-pd[0])*512/1e6:6.1f} io_ms={cd[1]-pd[1]:4d} thr={len(cur)} " + " ".join(f"{k}={v}" for k,v in top), flush=True)
    prev, pd, pc = cur, cd, cc
