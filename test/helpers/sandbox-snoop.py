# A hostile script for the sandbox tests: tries to read what it is given and everything it can see
# in /proc, and to connect to the ports it is given; prints what worked as JSON.
# argv[1]: {"files": [path…], "dirs": [path…], "ports": [[host, port]…], "pids": [pid…]}
import errno
import json
import os
import socket
import sys

# Fake server secrets in the tests start with this; it is not passed in argv, which the sandbox's
# init (bwrap, PID 1) holds in its memory.
MARKER = b"weft-fake-secret-"
MEM_BUDGET = 256 << 20

cfg = json.loads(sys.argv[1])
me = os.getpid()


def attempt(fn):
    try:
        return {"ok": True, "value": fn()}
    except OSError as e:
        return {"ok": False, "error": errno.errorcode.get(e.errno, str(e)) if e.errno else f"{type(e).__name__}: {e}"}
    except Exception as e:  # noqa: BLE001 - any failure is an answer here
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


def read(path):
    with open(path, "rb") as f:
        return f.read(16 << 10).decode("latin-1")


def connect(host, port):
    socket.create_connection((host, port), timeout=2).close()
    return "connected"


def scan_memory(pid):
    total = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if "r" not in perms:
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            size = min(end - start, MEM_BUDGET - total)
            if size <= 0:
                break
            try:
                mem.seek(start)
                chunk = mem.read(size)
            except (OSError, OverflowError, ValueError):
                continue
            total += len(chunk)
            if MARKER in chunk:
                return "FOUND"
    return f"read {total} bytes"


pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
result = {
    "uid": os.getuid(),
    "gid": os.getgid(),
    "ppid": os.getppid(),
    "pids": pids,
    "files": {p: attempt(lambda p=p: read(p)) for p in cfg.get("files", [])},
    "dirs": {p: attempt(lambda p=p: os.listdir(p)) for p in cfg.get("dirs", [])},
    "ports": {f"{h}:{p}": attempt(lambda h=h, p=p: connect(h, p)) for h, p in cfg.get("ports", [])},
    "procfs": {},
}
# Every process's environ and cmdline; the memory of the processes named, its parent and PID 1
# (all of the sandbox's processes but this one; without a sandbox, the server).
closest = set(cfg.get("pids", [])) | {1, os.getppid()}
for pid in sorted(set(pids) | closest):
    if pid == me:
        continue
    result["procfs"][str(pid)] = {
        "environ": attempt(lambda: read(f"/proc/{pid}/environ")),
        "cmdline": attempt(lambda: read(f"/proc/{pid}/cmdline")),
        "maps": attempt(lambda: len(read(f"/proc/{pid}/maps"))) if pid in closest else None,
        "mem": attempt(lambda: scan_memory(pid)) if pid in closest else None,
    }
print(json.dumps(result))
