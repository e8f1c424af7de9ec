#!/usr/bin/env python3
# Issue 9 item 8: a flood of idle connections (connect, send nothing) against examples/Server as a real process
# under a hard descriptor limit (the .NET runtime raises its soft limit to the hard one at start, so both are set).
# Prints the server's RSS and open descriptors, how the flood sockets ended, whether a new request is served during
# and after the flood, the exit code on SIGINT and the summary line. 127.0.0.1 only; bounded (200 s of connecting).
# Usage: dotnet build -c Release examples/Server && NOFILE=20000 python3 bench/NetBench/flood.py [connections=20000]
import subprocess, socket, time, re, os, sys, threading, select, resource
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
srv = subprocess.Popen(["prlimit", "--nofile=" + os.environ.get("NOFILE","20000") + ":" + os.environ.get("NOFILE","20000"), "dotnet", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "Server", "bin", "Release", "net10.0", "Server.dll"), "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
line = srv.stdout.readline(); print(line.strip())
port = int(re.search(r":(\d+)/", line).group(1))
err=[]; out=[]
threading.Thread(target=lambda: [err.append(l) for l in srv.stderr], daemon=True).start()
threading.Thread(target=lambda: [out.append(l) for l in srv.stdout], daemon=True).start()
def rss(): 
    for l in open(f"/proc/{srv.pid}/status"):
        if l.startswith("VmRSS"): return int(l.split()[1])
def nfd(): return len(os.listdir(f"/proc/{srv.pid}/fd"))
print("rest RSS KiB", rss(), "fds", nfd())
def get(close=True, t=30):
    s = socket.create_connection(("127.0.0.1", port), timeout=t)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + (b"Connection: close\r\n" if close else b"") + b"\r\n")
    d = b""
    try:
        while True:
            c = s.recv(4096)
            if not c: break
            d += c
            if close is False and d.endswith(b"asupersync\n"): break
    except Exception as e: d += repr(e).encode()
    s.close(); return d[:12]
import multiprocessing as mp
def holder(n, port, conn):
    socks=[]; failed=0; t0=time.time()
    for i in range(n):
        if time.time()-t0 > 200: break
        s=socket.socket(); s.setblocking(False)
        try: s.connect(("127.0.0.1", port))
        except BlockingIOError: pass
        except OSError: failed+=1; s.close(); continue
        socks.append(s)
    conn.send((len(socks), failed)); conn.recv()
    r503=closed=0
    for s in socks:
        try:
            d=s.recv(64)
            if d.startswith(b"HTTP/1.1 503"): r503+=1
            elif d==b"": closed+=1
        except BlockingIOError: pass
        except OSError: closed+=1
    conn.send((r503, closed)); conn.recv()
    for s in socks: s.close()
    conn.send("closed")
K=4; pipes=[]
t0=time.time()
for k in range(K):
    a,b=mp.Pipe(); p=mp.Process(target=holder, args=(N//K, port, b)); p.start(); pipes.append((a,p))
opened=failed=0
for a,p in pipes: o,f=a.recv(); opened+=o; failed+=f
print(f"opened {opened} (connect errors {failed}) in {time.time()-t0:.1f}s", flush=True)
for _ in range(10):
    time.sleep(1)
    if srv.poll() is not None: break
alive = srv.poll() is None
print("after flood: alive", alive, "rc", srv.returncode, "RSS KiB", rss() if alive else "-", "fds", nfd() if alive else "-")
r503=closed=0
for a,p in pipes: a.send(1); x,y=a.recv(); r503+=x; closed+=y
print("flood sockets answered 503:", r503, "closed/reset without answer:", closed, "still open idle:", opened-r503-closed)
if alive: print("new request during flood:", get(t=30))
for a,p in pipes: a.send(1); a.recv(); p.join()
time.sleep(3)
if srv.poll() is None: print("new request after flood:", get(t=30)); print("RSS KiB", rss(), "fds", nfd())
if srv.poll() is None:
    srv.send_signal(2)
    try: print("rc", srv.wait(30))
    except subprocess.TimeoutExpired: print("no exit in 30s"); srv.kill()
else: print("server died rc", srv.returncode)
time.sleep(0.5)
print("stdout:", out[-2:]); print("stderr:", [e[:300] for e in err[:8]])
