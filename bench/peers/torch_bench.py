#!/usr/bin/env python3
"""PyTorch side of ndgrad's benchmark suite.

One measurement:  torch_bench.py <workload> --threads N --json [--quick] [--n N] [--op add|exp] [--alloc]
                  workloads: matmul, elementwise, mlp, cnn, fc, tiny, autograd, gluonLenet, adamStep
As a worker:      torch_bench.py serve --threads N --json   (one JSON request per stdin line, one JSON
                  answer per stdout line; this is how bench/*.js use it, so torch is imported once)
Run it as `env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX /usr/bin/python3 bench/peers/torch_bench.py ...`
(`Haswell` on a CPU without AVX-512; bench/lib/harness.js picks it from the CPU flags).
"""
import argparse
import json
import math
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


def wrong(msg):
    """A result that disagrees with its float64 recomputation is reported instead of a figure."""
    return {"ok": False, "error": "wrong result (checked before timing): " + msg}


def check_close(what, got, want, k, result_u=0.0):
    """got (float32) against want (float64) within the float32 bound of sums of k products:
    (k + 2) * 2^-24 * sum|terms|, with sum|terms| bounded by the same product of absolute values;
    result_u: the unit roundoff of a result rounded to a narrower type (2^-8 for bfloat16)."""
    err = (got.double() - want[0]).abs()
    bound = (k + 2) * 2.0 ** -24 * want[1] + result_u * want[0].abs() + 1e-30
    bad = (err > bound).nonzero()
    if len(bad):
        i = tuple(bad[0].tolist())
        return "%s: element %s is %r, reference %r" % (what, i, got[i].item(), want[0][i].item())
    return ""


def check_step(what, loss, grads, loss64, grads64, rtol=1e-4):
    """Loss and gradients of a training step against the same step in float64, normwise (the
    bound of bench/lib/reference.js)."""
    if abs(loss - loss64) > rtol * abs(loss64):
        return "%s: loss %r, float64 %r" % (what, loss, loss64)
    for name, g, g64 in zip(range(len(grads)), grads, grads64):
        e = ((g.double() - g64).norm() / max(g64.norm().item(), 1e-30)).item()
        if e > rtol:
            return "%s: gradient of parameter %d off by %.3g (normwise), bound %g" % (what, name, e, rtol)
    return ""


def done(per_iter, iters, secs, value, extra=None):
    r = {"ok": True, "value": value, "seconds": secs, "iters": iters}
    if extra:
        r["extra"] = extra
    return r


def gen():
    return torch.Generator().manual_seed(42)


def labels(batch, k):
    return torch.tensor([(i * 7 + 3) % k for i in range(batch)], dtype=torch.long)


def w_matmul(n, m=None, k=None, ta=False, tb=False, quick=False, dtype="float32", **_):
    """n alone: an n x n square product; else C (m x n) = op(A) op(B) over depth k (ta/tb: the
    operand is stored transposed, as nd.dot's transposeA/transposeB). dtype "bfloat16": bfloat16
    operands and result."""
    m = n if m is None else m
    k = n if k is None else k
    g = gen()
    t = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    a = (torch.rand(*((k, m) if ta else (m, k)), generator=g) * 2 - 1).to(t)
    b = (torch.rand(*((n, k) if tb else (k, n)), generator=g) * 2 - 1).to(t)
    opa = a.t() if ta else a
    opb = b.t() if tb else b
    c = torch.empty(m, n, dtype=t)
    torch.mm(opa, opb, out=c)
    bad = check_close("matmul %dx%dx%d" % (m, k, n), c, (opa.double() @ opb.double(), opa.double().abs() @ opb.double().abs()), k,
                      2.0 ** -8 if dtype == "bfloat16" else 0.0)
    if bad:
        return wrong(bad)
    t, it, s = measure(lambda: torch.mm(opa, opb, out=c), quick)
    return done(t, it, s, 2 * m * n * k / t / 1e9)


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
    r = fn() if alloc else (fn(), c)[1]
    if op == "add":
        ok = torch.equal(r, (a.double() + b.double()).float())
    else:
        ok = bool(((r.double() - a.double().exp()).abs() <= 8 * 2.0 ** -24 * a.double().exp()).all())
    if not ok:
        return wrong("%s differs from its float64 recomputation" % op)
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

    bad = check_step_of("MLP step", params, lambda ps, xx: F.cross_entropy(
        F.linear(F.relu(F.linear(F.relu(F.linear(xx, ps[0], ps[1])), ps[2], ps[3])), ps[4], ps[5]), y, reduction="sum"), x)
    if bad:
        return wrong(bad)
    t, it, s = measure(step, quick, min_iters=steps)
    return done(t, it, s, t * 1e3)


def w_cnn(batch=32, quick=False, dtype="float32", **_):
    torch.manual_seed(42)
    t = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    x = torch.rand(batch, 1, 28, 28).to(t)
    y = labels(batch, 10)
    c1 = torch.nn.Conv2d(1, 32, 3).to(t)
    c2 = torch.nn.Conv2d(32, 64, 3).to(t)
    fc = torch.nn.Linear(1600, 10).to(t)
    params = list(c1.parameters()) + list(c2.parameters()) + list(fc.parameters())

    def step():
        h = F.max_pool2d(F.relu(c1(x)), 2)
        h = F.max_pool2d(F.relu(c2(h)), 2)
        loss = F.cross_entropy(fc(h.flatten(1)), y, reduction="sum")
        for p in params:
            p.grad = None
        loss.backward()

    bad = check_step_of("CNN step", params, lambda ps, xx: F.cross_entropy(F.linear(F.max_pool2d(F.relu(F.conv2d(
        F.max_pool2d(F.relu(F.conv2d(xx, ps[0], ps[1])), 2), ps[2], ps[3])), 2).flatten(1), ps[4], ps[5]), y, reduction="sum"), x,
        2.0 ** -3 if dtype == "bfloat16" else 1e-4)  # bfloat16 rounded at every op; a wrong kernel is off by O(1)
    if bad:
        return wrong(bad)
    t, it, s = measure(step, quick, min_iters=5)
    return done(t, it, s, t * 1e3)


def check_step_of(what, params, loss_fn, x, rtol=1e-4):
    """One step's loss and gradients (float32 or bfloat16) against the same step on float64 copies."""
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    loss = loss_fn(ps, x)
    grads = torch.autograd.grad(loss, ps)
    ps64 = [p.detach().double().requires_grad_(True) for p in params]
    loss64 = loss_fn(ps64, x.double())
    grads64 = torch.autograd.grad(loss64, ps64)
    return check_step(what, loss.item(), grads, loss64.item(), grads64, rtol)


def w_conv_layer(x, w, grad="none", quick=False, dtype="float32", **_):
    """One convolution alone (bench/conv-layers.js): forward with bias, or the data or weight gradient
    through aten's convolution_backward (what autograd calls), checked against float64 first.
    dtype "bfloat16": bfloat16 operands and result."""
    g = gen()
    t = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    xs, ws = (torch.rand(*x, generator=g) * 2 - 1).to(t), (torch.rand(*w, generator=g) * 2 - 1).to(t)
    b = (torch.rand(w[0], generator=g) * 2 - 1).to(t)
    y = F.conv2d(xs, ws, b)
    dy = (torch.rand(y.shape, generator=g) * 2 - 1).to(t)
    mask = {"none": None, "data": [True, False, False], "weight": [False, True, False]}[grad]

    def run(xx, ww, bb, dd):
        if mask is None:
            return F.conv2d(xx, ww, bb)
        r = torch.ops.aten.convolution_backward(dd, xx, ww, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1, mask)
        return r[0] if grad == "data" else r[1]

    with torch.no_grad():
        got = run(xs, ws, b, dy)
        d = [t.double() for t in (xs, ws, b, dy)]
        want = run(*d)
        mag = run(*[t.abs() for t in d])
        k = {"none": x[1] * w[2] * w[3], "data": w[0] * w[2] * w[3], "weight": y.numel() // w[0]}[grad]
        bad = check_close("convolution (%s)" % grad, got, (want, mag), k, 2.0 ** -8 if dtype == "bfloat16" else 0.0)
        if bad:
            return wrong(bad)
        t, it, s = measure(lambda: run(xs, ws, b, dy), quick)
    return done(t, it, s, t * 1e3)


def w_fc(batch=1, quick=False, **_):
    """FullyConnected 784 -> 512 (F.linear), microseconds per forward."""
    g = gen()
    x = torch.rand(batch, 784, generator=g) * 2 - 1
    w = (torch.rand(512, 784, generator=g) * 2 - 1) * 0.05
    b = torch.rand(512, generator=g) * 2 - 1
    with torch.no_grad():
        y = F.linear(x, w, b)
        bad = check_close("FullyConnected 784->512", y, (F.linear(x.double(), w.double(), b.double()),
                                                          F.linear(x.double().abs(), w.double().abs(), b.double().abs())), 784)
        if bad:
            return wrong(bad)
        t, it, s = measure(lambda: F.linear(x, w, b), quick)
    return done(t, it, s, t * 1e6)


def w_tiny(quick=False, **_):
    """a + b on one-element tensors, microseconds per op (result dropped at once)."""
    a = torch.tensor([1.0])
    b = torch.tensor([2.0])
    if (a + b).item() != 3.0:
        return wrong("1 + 2 gave %r" % (a + b).item())

    def batch():
        for _ in range(1000):
            a + b
    t, it, s = measure(batch, quick)
    return done(t, it, s, t * 1e6 / 1000)


def w_autograd(kind="sin", phase="record", quick=False, **_):
    """A chain of 1000 recorded ops on float32[4] (sin, y * x, y * 0.999): microseconds per recorded
    op (phase 'record') or per op of its backward (phase 'backward')."""
    chain_len = 1000
    x = torch.tensor([0.5, 0.25, 0.125, 1.0], requires_grad=True)

    def graph():
        y = x
        for _ in range(chain_len):
            y = torch.sin(y) if kind == "sin" else (y * x if kind == "mul" else y * 0.999)
        return y.sum()

    g, = torch.autograd.grad(graph(), x)
    x64 = [0.5, 0.25, 0.125, 1.0]
    for i, v in enumerate(x64):
        if kind == "mul":
            want = (chain_len + 1) * v ** chain_len
        elif kind == "scalar":
            want = 0.999 ** chain_len
        else:
            want, y = 1.0, v
            for _ in range(chain_len):
                want *= math.cos(y)
                y = math.sin(y)
        if abs(g[i].item() - want) > 1e-4 * abs(want) + 1e-30:
            return wrong("%s chain: d sum(y)/dx[%d] = %r, reference %r" % (kind, i, g[i].item(), want))
    if phase == "record":
        t, it, s = measure(graph, quick)
    else:
        spent = [0.0, 0]

        def step():
            y = graph()
            t0 = time.perf_counter()
            y.backward()
            spent[0] += time.perf_counter() - t0
            spent[1] += 1
        _, it, s = measure(step, quick)
        t = spent[0] / spent[1]
    return done(t, it, s, t * 1e6 / chain_len)


def lenet():
    """The book's LeNet (d2l.ai 6.6): sigmoid convolutions, average pooling, three dense layers."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid(), nn.AvgPool2d(2, 2),
                         nn.Conv2d(6, 16, 5), nn.Sigmoid(), nn.AvgPool2d(2, 2), nn.Flatten(),
                         nn.Linear(400, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


def w_gluon_lenet(batch=256, n=12800, quick=False, **_):
    """One epoch of LeNet over in-memory Fashion-MNIST-shaped tensors: torch.nn + torch.optim.SGD +
    a DataLoader (the ndgrad side: Gluon's DataLoader, Sequential, SoftmaxCrossEntropyLoss, Trainer)."""
    import copy
    torch.manual_seed(42)
    lr = 0.9
    x = torch.rand(n, 1, 28, 28)
    y = labels(n, 10)
    net = lenet()
    for m in net:
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.xavier_uniform_(m.weight)
            torch.nn.init.zeros_(m.bias)
    # loss before and after one SGD step on the first batch, float32 against a float64 copy
    losses = []
    for model, xb in ((copy.deepcopy(net), x[:batch]), (copy.deepcopy(net).double(), x[:batch].double())):
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        before = F.cross_entropy(model(xb), y[:batch])
        before.backward()
        opt.step()
        with torch.no_grad():
            losses.append((before.item(), F.cross_entropy(model(xb), y[:batch]).item()))
    for k in (0, 1):
        if abs(losses[0][k] - losses[1][k]) > 1e-4 * abs(losses[1][k]):
            return wrong("LeNet loss %s one SGD step %r, float64 %r" % (("before", "after")[k], losses[0][k], losses[1][k]))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, shuffle=True)
    opt = torch.optim.SGD(net.parameters(), lr=lr)

    def epoch():
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            opt.step()

    t, it, s = measure(epoch, quick, min_iters=1)
    return done(t, it, s, t * 60000 / n)


def model_sizes(total):
    s = [int(total * f) for f in (0.4, 0.3, 0.1, 0.1)]
    return s + [int(total * 0.1 / 50)] * 50


def w_adam_step(total=10_000_000, quick=False, **_):
    """torch.optim.Adam(foreach=True).step() on a 10M-parameter mix, and the copy bandwidth (dst.copy_(src))
    on the same sizes in the same run."""
    g = gen()
    ws = [torch.nn.Parameter(torch.rand(k, generator=g) * 2 - 1) for k in model_sizes(total)]
    for w in ws:
        w.grad = torch.rand(w.shape, generator=g) * 2 - 1
    w0, g0 = ws[0][:1000].detach().double().clone(), ws[0].grad[:1000].double().clone()
    opt = torch.optim.Adam(ws, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, foreach=True)
    opt.step()
    opt.step()
    # torch's Adam (bias correction outside the epsilon) in float64, two steps
    m = torch.zeros_like(w0)
    v = torch.zeros_like(w0)
    w = w0.clone()
    for t in (1, 2):
        m = 0.9 * m + 0.1 * g0
        v = 0.999 * v + 0.001 * g0 * g0
        w -= 1e-3 * (m / (1 - 0.9 ** t)) / ((v / (1 - 0.999 ** t)).sqrt() + 1e-8)
    err = (ws[0][:1000].detach().double() - w).abs() - (1e-6 * w0.abs() + 1e-7)
    if (err > 0).any():
        i = int(err.argmax())
        return wrong("Adam: w[%d] after two steps %r, float64 %r" % (i, ws[0][i].item(), w[i].item()))
    with torch.no_grad():
        t, it, s = measure(opt.step, quick)
        dst = [torch.empty_like(w) for w in ws]
        tc, _, _ = measure(lambda: [d.copy_(w) for d, w in zip(dst, ws)], quick)
    n = sum(model_sizes(total))
    return done(t, it, s, t * 1e3, {"adamGBs": n * 28 / t / 1e9, "copyGBs": n * 8 / tc / 1e9})


HANDLERS = {
    "info": lambda **_: {"ok": True, "backend": {"torch": torch.__version__, "threads": torch.get_num_threads(),
                                                   "blas": blas_library()}},
    "matmul": w_matmul,
    "elementwise": w_elementwise,
    "mlp": w_mlp,
    "cnn": w_cnn,
    "convLayer": w_conv_layer,
    "fc": w_fc,
    "tiny": w_tiny,
    "autograd": w_autograd,
    "gluonLenet": w_gluon_lenet,
    "adamStep": w_adam_step,
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
