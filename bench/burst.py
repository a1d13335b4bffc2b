#!/usr/bin/env python3
"""Memory under a burst of large uploads (issue 11): the server's resident memory before,
at its peak during, and after N concurrent POSTs of SIZE MiB to the ingest route, once with a
junk bearer and once with a valid JWT.

    python3 bench/burst.py BIN [N] [SIZE_MIB]     # BIN: a build's `stella` binary

Loopback only; the server runs in a fresh temporary data directory."""
import json, os, socket, subprocess, sys, tempfile, threading, time, urllib.request

BIN = sys.argv[1]
N = int(sys.argv[2]) if len(sys.argv) > 2 else 24
SIZE = (int(sys.argv[3]) if len(sys.argv) > 3 else 58) * 1024 * 1024
PORT = 18093
BASE = f"http://127.0.0.1:{PORT}"


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def post(auth, body_chunk, status):
    s = socket.create_connection(("127.0.0.1", PORT))
    head = (f"POST /connect/api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {auth}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n")
    try:
        s.sendall(head.encode())
        sent = 0
        while sent < SIZE:
            n = min(len(body_chunk), SIZE - sent)
            s.sendall(body_chunk[:n])
            sent += n
    except OSError:
        pass  # the server answered and closed without reading the rest: that is the point
    try:
        s.settimeout(60)
        status.append(s.recv(64).split(b" ")[1].decode())
    except (OSError, IndexError):
        status.append("closed")
    s.close()


def burst(pid, auth):
    chunk = b"x" * (1 << 20)
    status, peak, done = [], [rss_mb(pid)], threading.Event()

    def sample():
        while not done.is_set():
            peak.append(rss_mb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0 = time.time()
    threads = [threading.Thread(target=post, args=(auth, chunk, status)) for _ in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.time() - t0
    time.sleep(float(os.environ.get("AFTER", "20")))  # let the allocator return what it freed
    done.set()
    sampler.join()
    return took, max(peak), rss_mb(pid), sorted(set(status), key=status.count)


def scenario(name, use_jwt):
    data = tempfile.mkdtemp()
    creds = subprocess.run([BIN, "init", "--data-dir", data, "--email", "b@example.com"],
                           check=True, capture_output=True).stdout
    key = json.loads(creds)["api_key"]
    server = subprocess.Popen([BIN, "serve", "--data-dir", data, "--listen", f"127.0.0.1:{PORT}",
                               "--rate-limit-per-second", "1000000000", "--log", "error"],
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{BASE}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        req = urllib.request.Request(f"{BASE}/connect/api/v1/access_token", method="POST",
                                     headers={"Authorization": f"Bearer {key}"})
        jwt = json.load(urllib.request.urlopen(req))["access_token"]
        req = urllib.request.Request(f"{BASE}/connect/api/v1/tenants", method="POST",
                                     data=b'{"name": "t"}',
                                     headers={"Authorization": f"Bearer {jwt}",
                                              "Content-Type": "application/json"})
        urllib.request.urlopen(req)
        before = rss_mb(server.pid)
        took, peak, after, statuses = burst(server.pid, jwt if use_jwt else "junk.junk.junk")
        print(f"  {name:12} RSS before {before:5.0f} MB, peak {peak:6.0f} MB, {os.environ.get('AFTER', '20')} s after "
              f"{after:6.0f} MB; {took:4.1f} s; answers {statuses}")
    finally:
        server.terminate()
        server.wait()


print(f"{BIN}: {N} concurrent POSTs of {SIZE >> 20} MiB to /connect/api/v1/events")
scenario("junk bearer", False)
scenario("valid JWT", True)
