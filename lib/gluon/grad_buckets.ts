// Gradient fusion for a Trainer on a 'dist_sync' kvstore (DIST.md), as Horovod's tensor fusion and
// PyTorch DDP's buckets: the gradients are packed, in reverse parameter order (about the order backward
// finishes them), into buckets of up to NDGRAD_DIST_BUCKET_MB (default 25) MiB per dtype; one allreduce
// per bucket.
//
// Overlap: each parameter's gradient-ready hook counts its bucket; when a bucket's last gradient is
// issued during backward, a "start" task is queued behind it on the engine: when the engine reaches it
// (the gradients computed), it packs them and hands the bucket to the MPI module's comm thread, which
// reduces it while the engine goes on with the rest of backward. allreduceGrads() starts the buckets
// not started yet (parameters this pass did not reach; every bucket at the first step, before the
// hooks are set) and queues one "finish" task per bucket, which waits for the reduction and unpacks
// it before the update's kernels run. The engine queue is in order, so a bucket is reduced while the
// kernels issued after its start task run: every bucket but the last one finished by backward.
//
// Every rank issues the same collectives in the same order because every rank runs the same graph; a
// model whose graph differs between ranks (data-dependent branches skipping parameters) would pair
// different buckets across ranks, which the reduction cannot detect.
import { onGradReady } from '../autograd';
import { zeros } from '../creation';
import { ELEMENT_BYTES } from '../fileio';
import { dispose, keep } from '../memory';
import type { NDArray } from '../ndarray';
import { distTask } from '../kvstore';
import type { ParameterLike } from './params_io';

interface Bucket {
  buffer: NDArray;
  members: ParameterLike[];
  ready: Set<ParameterLike>;
  started: boolean;
}

function bucketBytes(): number {
  const mb = Number(process.env.NDGRAD_DIST_BUCKET_MB ?? 25);
  return (mb > 0 ? mb : 25) * 1024 * 1024;
}

export class GradBuckets {
  /** @internal */
  buckets: Bucket[] = [];
  /** @internal the data array each hook is set on, to set them again when a parameter's array changes */
  private hooked = new Map<ParameterLike, NDArray>();
  /** @internal */
  private broadcastDone = false;
  /** @internal buckets started from the gradient-ready hook (during backward), for tests */
  hookStarts = 0;

  /** Sums the gradients of `params` (those with a gradient) over the workers, fused into buckets. */
  allreduce(params: ParameterLike[]): void {
    const ps = params.filter((p) => p.gradReq !== 'null');
    if (this.buckets.length === 0) this.layout(ps);
    for (const b of this.buckets) if (!b.started) this.start(b);
    for (const b of this.buckets) {
      distTask('bucketFinish', [b.buffer, ...b.members.map((p) => p.grad())], [false, ...b.members.map(() => true)], 'Trainer.allreduceGrads');
      b.started = false;
      b.ready.clear();
    }
    this.hook(ps);
  }

  /** Rank 0's parameters on every worker, once (MXNet's _init_kvstore at the first step). */
  broadcastOnce(params: ParameterLike[]): void {
    if (this.broadcastDone) return;
    const ws = params.map((p) => p.data());
    for (const w of ws) distTask('broadcast', [w, w], [false, true], 'Trainer.step');
    this.broadcastDone = true;
  }

  dispose(): void {
    for (const [p, w] of this.hooked) if (!w.isDisposed && p.data() === w) onGradReady(w, null);
    this.hooked.clear();
    for (const b of this.buckets) dispose(b.buffer);
    this.buckets = [];
  }

  /** @internal packs a bucket's gradients and starts its reduction on the comm thread */
  private start(b: Bucket): void {
    distTask('bucketStart', [b.buffer, ...b.members.map((p) => p.grad())], [true, ...b.members.map(() => false)], 'Trainer.allreduceGrads');
    b.started = true;
    b.ready.clear();
  }

  /** @internal buckets of one dtype each, filled in reverse parameter order */
  private layout(ps: ParameterLike[]): void {
    const cap = bucketBytes();
    const open = new Map<string, { members: ParameterLike[]; bytes: number; size: number }>();
    const close = (dtype: string) => {
      const o = open.get(dtype);
      if (!o || o.members.length === 0) return;
      const buffer = keep(zeros([o.size], { dtype: dtype as NDArray['dtype'] }));
      this.buckets.push({ buffer, members: o.members, ready: new Set(), started: false });
      open.delete(dtype);
    };
    for (const p of [...ps].reverse()) {
      const g = p.grad();
      const bytes = g.size * ELEMENT_BYTES[g.dtype];
      const o = open.get(g.dtype);
      if (o && o.bytes + bytes > cap) close(g.dtype);
      const cur = open.get(g.dtype) ?? { members: [], bytes: 0, size: 0 };
      cur.members.push(p);
      cur.bytes += bytes;
      cur.size += g.size;
      open.set(g.dtype, cur);
    }
    for (const dtype of [...open.keys()]) close(dtype);
  }

  /** @internal a hook on each parameter: its bucket starts once all its gradients are issued */
  private hook(ps: ParameterLike[]): void {
    const bucketOf = new Map<ParameterLike, Bucket>();
    for (const b of this.buckets) for (const p of b.members) bucketOf.set(p, b);
    for (const p of ps) {
      const w = p.data();
      if (this.hooked.get(p) === w) continue;
      const b = bucketOf.get(p);
      if (!b) continue;
      onGradReady(w, () => {
        b.ready.add(p);
        // A second pass before the step (or gradients accumulated with gradReq 'add') starts the bucket
        // again: the MPI module waits for the earlier reduction before packing the new gradients.
        if (b.ready.size === b.members.length) this.start(b), this.hookStarts++;
      });
      this.hooked.set(p, w);
    }
  }
}
