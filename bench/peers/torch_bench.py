#!/usr/bin/env python3
"""PyTorch side of ndgrad's benchmark suite.

One measurement:  torch_bench.py <workload> --threads N --json [--quick] [--n N] [--op add|exp] [--alloc]
                  workloads: matmul, elementwise, mlp, cnn
As a worker:      torch_bench.py serve --threads N --json   (one JSON request per stdin line, one JSON
                  answer per stdout line; this is how bench/*.js use it, so torch is imported once)
Run it as `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/peers/torch_bench.py ...`.
"""
import argparse
import json
import os
import sys
import time


def _threads_from_argv():
    try:
        return max(1, int(sys.argv[sys.argv.index("--threads") + 1]))
    except (ValueError, IndexError):
        return 1


# torch.set_num_threads covers OpenMP (and MKL); a system OpenBLAS reads its thread count from the
# environment when it is loaded, so set that before importing torch.
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(_threads_from_argv())
# OpenMP workers that spin while OpenBLAS's own threads compute leave the GEMMs no core on a 2-core
# machine: the 2-thread MLP step then takes 12-75 ms instead of 2.7-4. Sleeping workers are torch's
# better setting here (override by setting OMP_WAIT_POLICY yourself).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def blas_library():
    """The BLAS shared object torch's matmul goes through (Debian's torch uses the system libblas.so.3)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line.lower()}
        libs = sorted(os.path.realpath(l) for l in libs if l.startswith("/"))
        best = [l for l in libs if "openblas" in l and "libopenblas" in os.path.basename(l)] or \
            [l for l in libs if "libblas" in os.path.basename(l)] or libs
        return best[0] if best else "none found"
    except OSError:
        return "unknown"


def measure(fn, quick=False, min_iters=3, slow_limit=5.0):
    min_time = 0.15 if quick else 0.6
    warm_time = 0.05 if quick else 0.2
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > slow_limit:
        return first, 1, first
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warm_time:
        fn()
    iters = 0
    t0 = time.perf_counter()
    el = 0.0
    while iters < min_iters or el < min_time:
        fn()
        iters += 1
        el = time.perf_counter() - t0
    return el / iters, iters, el + first


def done(per_iter, iters, secs, value, extra=None):
    r = {"ok": True, "value": value, "seconds": secs, "iters": iters}
    if extra:
        r["extra"] = extra
    return r


def gen():
    return torch.Generator().manual_seed(42)


def labels(batch, k):
    return torch.tensor([(i * 7 + 3) % k for i in range(batch)], dtype=torch.long)


def w_matmul(n, quick=False, **_):
    g = gen()
    a = torch.rand(n, n, generator=g) * 2 - 1
    b = torch.rand(n, n, generator=g) * 2 - 1
    c = torch.empty(n, n)
    t, it, s = measure(lambda: torch.mm(a, b, out=c), quick)
    return done(t, it, s, 2 * n ** 3 / t / 1e9)


def w_elementwise(op, n, alloc=False, quick=False, **_):
    g = gen()
    a = torch.rand(n, generator=g) * 2 - 1
    b = torch.rand(n, generator=g) * 2 - 1
    c = torch.empty(n)
    if op == "add":
        fn = (lambda: a + b) if alloc else (lambda: torch.add(a, b, out=c))
    elif op == "exp":
        fn = (lambda: torch.exp(a)) if alloc else (lambda: torch.exp(a, out=c))
    else:
        return {"ok": False, "skipped": "unknown op " + op}
    # The allocating lambdas drop their result at once, as ndgrad's dispose() does.
    t, it, s = measure(fn, quick)
    return done(t, it, s, t * 1e9 / n)


def w_mlp(batch=128, quick=False, steps=10, **_):
    torch.manual_seed(42)
    x = torch.rand(batch, 784)
    y = labels(batch, 10)
    layers = [torch.nn.Linear(784, 512), torch.nn.Linear(512, 512), torch.nn.Linear(512, 10)]
    params = [p for l in layers for p in l.parameters()]
    lr = 0.01 / batch

    def step():
        h = F.relu(layers[0](x))
        h = F.relu(layers[1](h))
        loss = F.cross_entropy(layers[2](h), y, reduction="sum")
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)

    t, it, s = measure(step, quick, min_iters=steps)
    return done(t, it, s, t * 1e3)


def w_cnn(batch=32, quick=False, **_):
    torch.manual_seed(42)
    x = torch.rand(batch, 1, 28, 28)
    y = labels(batch, 10)
    c1 = torch.nn.Conv2d(1, 32, 3)
    c2 = torch.nn.Conv2d(32, 64, 3)
    fc = torch.nn.Linear(1600, 10)
    params = list(c1.parameters()) + list(c2.parameters()) + list(fc.parameters())

    def step():
        h = F.max_pool2d(F.relu(c1(x)), 2)
        h = F.max_pool2d(F.relu(c2(h)), 2)
        loss = F.cross_entropy(fc(h.flatten(1)), y, reduction="sum")
        for p in params:
            p.grad = None
        loss.backward()

    t, it, s = measure(step, quick, min_iters=5)
    return done(t, it, s, t * 1e3)


HANDLERS = {
    "info": lambda **_: {"ok": True, "backend": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                                                   "blas": blas_library()}},
    "matmul": w_matmul,
    "elementwise": w_elementwise,
    "mlp": w_mlp,
    "cnn": w_cnn,
}


def run(workload, params):
    h = HANDLERS.get(workload)
    if h is None:
        return {"ok": False, "skipped": "workload %s not implemented" % workload}
    try:
        return h(**params)
    except Exception as e:  # report, keep serving
        return {"ok": False, "error": ("%s: %s" % (type(e).__name__, e)).splitlines()[0][:300]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", action="store_true", help="print JSON (always on in serve mode)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--op", default="add")
    ap.add_argument("--alloc", action="store_true")
    ap.add_argument("--batch", type=int, default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_grad_enabled(True)
    if a.workload == "serve":
        for line in sys.stdin:
            if not line.strip():
                continue
            req = json.loads(line)
            print(json.dumps(run(req.get("workload"), req.get("params") or {})), flush=True)
        return
    params = {"quick": a.quick}
    if a.workload == "matmul":
        params["n"] = a.n or 1024
    elif a.workload == "elementwise":
        params.update(op=a.op, n=a.n or 10_000_000, alloc=a.alloc)
    elif a.workload in ("mlp", "cnn") and a.batch:
        params["batch"] = a.batch
    r = run(a.workload, params)
    if a.json:
        print(json.dumps(r))
    else:
        print(a.workload, r)


if __name__ == "__main__":
    main()
