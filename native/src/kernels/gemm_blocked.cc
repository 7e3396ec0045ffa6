// The packed GEMM driver: cache-blocked (GotoBLAS/BLIS design) around a register-blocked micro-kernel
// (the ISA table's for float32, gemm_bf16.cc's for bfloat16; panels hold 32-bit words, a float32 or a
// pair of bfloat16 depth steps). Loops: jc over panels of NC columns, depth in blocks of KC words (B
// packed kc x nc, A in blocks of MC rows x kc), then NR strips x MR rows of micro-tiles. A group of depth
// blocks and rows is one fork-join; inside it the output is cut into parts (one MC row block x a range
// of NR strips, a few per thread) that threads claim as they come free. A part loops over the group's
// depth blocks and packs what it needs unless another thread already has: each packed unit (a few MR
// panels of an A block, a few NR strips of a B panel) carries a flag that the first thread to need it
// claims and the others wait on (an A block that one part alone uses goes to that part's own buffer).
// So no panel is packed twice, and a thread the scheduler takes away (on 2 cores the JS thread issuing
// the next op competes with the kernels) delays one small part, not a whole thread's share. A claimer
// packs at once and never waits while holding a claim: no deadlock, also when one thread runs every part.
#include <atomic>
#include <cstring>
#include <new>
#include <thread>

#include "../core/spin.h"
#include "../core/threadpool.h"
#include "gemm_blocked.h"

namespace ndgrad {
namespace kernels {
namespace {

constexpr int64_t kKC = 256;   // packed words of a depth block (B micro-panel kc x nr stays in L1: 32 KB
                               // at 32 columns, leaving room for A; 320 measured ~4% slower at n=1024)
constexpr int64_t kMC = 192;   // rows of a packed float32 A block (mc x kc in L2)
constexpr int64_t kNC = 3072;  // columns of a packed B panel (kc x nc in L3)
// Packed A, and packed B, of one group at most, in words (4 MB each): the MLP's products fit whole,
// so each is one fork-join; an n=2048 product takes one depth block per group (the BLIS order).
constexpr int64_t kPackBudget = int64_t(1) << 20;
constexpr int64_t kPartsPerThread = 4;
constexpr int64_t kMinPartWork = 1 << 15;  // multiply-adds (about 1 µs): smaller parts cost more than they save
constexpr int64_t kUnitPanels = 4;         // MR panels of A per packed unit (8-14 KB at kc = 256)
constexpr int64_t kUnitStrips = 4;         // NR strips of B per packed unit when threads share it
constexpr int kMaxTile = 32 * 32;          // largest mr * nr of any table

int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
// The size of the fewest equal blocks of at most `most` covering `len`, rounded up to `align`.
int64_t even_block(int64_t len, int64_t most, int64_t align) {
  return ceil_div(ceil_div(len, ceil_div(len, most)), align) * align;
}

// Packs `extent` lines x depth [0, kc) of a GEMM operand (already offset) into panels of R lines:
// dst[p*R + i] = line i at depth p, lines past the end zero. `lines_contiguous`: a panel's R lines
// are contiguous at each depth (element (i, p) at src[p*ld + i]); otherwise each line is contiguous
// in p (src[i*ld + p]). A is packed by rows (MR), B by columns (NR), with the layout flipped.
// `depth_major` (contiguous lines only): walk the source row by row rather than panel by panel.
void pack_f32(const KernelTable& t, bool lines_contiguous, bool depth_major, const float* src, int64_t ld,
              int64_t extent, int64_t kc, int R, float* dst) {
  if (lines_contiguous && depth_major) {
    // Each source row p is read once, contiguously, across every panel. Panel-major reads only R
    // floats of each row at stride ld, which the prefetchers follow badly when ld is a large power
    // of two (an n=1024 product ran 7% faster this way). A's panels are few and narrow (MR), and
    // there the scattered writes cost more than the strided reads (measured), so A stays panel-major.
    const int64_t full = extent / R * R;
    const int r = static_cast<int>(extent - full);
    for (int64_t p = 0; p < kc; ++p) {
      const float* s = src + p * ld;
      float* d = dst + p * R;
      for (int64_t ir = 0; ir < full; ir += R, d += R * kc)
        for (int i = 0; i < R; ++i) d[i] = s[ir + i];
      if (r > 0)  // the padded last panel
        for (int i = 0; i < R; ++i) d[i] = i < r ? s[full + i] : 0.f;
    }
    return;
  }
  if (lines_contiguous) {
    for (int64_t ir = 0; ir < extent; ir += R, dst += R * kc) {
      const int r = static_cast<int>(extent - ir < R ? extent - ir : R);
      for (int64_t p = 0; p < kc; ++p) {
        const float* s = src + p * ld + ir;
        float* d = dst + p * R;
        if (r == R) {
          std::memcpy(d, s, sizeof(float) * R);
        } else {
          int i = 0;
          for (; i < r; ++i) d[i] = s[i];
          for (; i < R; ++i) d[i] = 0.f;
        }
      }
    }
    return;
  }
  for (int64_t ir = 0; ir < extent; ir += R) {
    int r = static_cast<int>(extent - ir < R ? extent - ir : R);
    if (r == R && t.transpose_pack_f32(src + ir * ld, ld, R, kc, dst, R)) {
      // full panel transposed by the ISA kernel
    } else {
      // Each line is contiguous in p: walk 4 depth steps at a time per line.
      for (int i = 0; i < r; ++i) {
        const float* s = src + (ir + i) * ld;
        float* d = dst + i;
        int64_t p = 0;
        for (; p + 4 <= kc; p += 4) {
          float v0 = s[p], v1 = s[p + 1], v2 = s[p + 2], v3 = s[p + 3];
          d[p * R] = v0;
          d[(p + 1) * R] = v1;
          d[(p + 2) * R] = v2;
          d[(p + 3) * R] = v3;
        }
        for (; p < kc; ++p) d[p * R] = s[p];
      }
      for (int i = r; i < R; ++i)
        for (int64_t p = 0; p < kc; ++p) dst[p * R + i] = 0.f;
    }
    dst += R * kc;
  }
}

enum : uint8_t { kEmpty = 0, kPacking = 1, kPacked = 2 };
using Flag = std::atomic<uint8_t>;

// True when the caller took the unit and must pack it (then publish it with kPacked).
bool claim(Flag& f) {
  uint8_t empty = kEmpty;
  return f.load(std::memory_order_relaxed) == kEmpty &&
         f.compare_exchange_strong(empty, kPacking, std::memory_order_acquire);
}
void publish(Flag& f) { f.store(kPacked, std::memory_order_release); }
// The packer is running (or was preempted while packing a few KB): spin briefly, then yield the core.
void wait_packed(Flag& f) {
  for (int i = 0; f.load(std::memory_order_acquire) != kPacked; ++i) {
    if (i < 4096)
      cpu_relax();
    else
      std::this_thread::yield();
  }
}

struct Plan {
  const PackedKind* kind;
  bool ta, tb, accumulate;
  int64_t m, n, k;
  const char* a;  // the sources, addressed in bytes (elements of kind->source_bytes)
  int64_t lda;
  const char* b;
  int64_t ldb;
  float* c;
  int64_t ldc;
  int MR, NR;
  int64_t kc, nq;      // depth blocks: nq of kc steps (the last may be shorter)
  int64_t kwords;      // packed words of a full depth block
  int64_t mc, nc;      // rows of an A block, columns of a B panel (multiples of MR, NR)
  int64_t blocks;      // A blocks per group of rows
  int64_t qgroup;      // depth blocks per group
  int64_t jgroups;     // strip ranges per B panel (parts per A block)
  int64_t aunits, bunits;  // packed units per A block, per B panel
  int64_t ustrips;         // NR strips per packed unit of B
  bool shared_a;       // A blocks shared by parts: abuf is [qgroup][blocks] blocks of mc x kwords; else each
  int64_t own_stride;  // part packs its block into abuf + ib * own_stride (0 with one thread: one buffer)
  uint32_t* abuf;      // packed words
  uint32_t* bbuf;      // [qgroup] B panels of kwords x nc
  Flag* aflags;        // [qgroup][blocks][aunits]
  Flag* bflags;        // [qgroup][bunits]
};

// One fork-join: columns [jc, jc + ncur), depth blocks [q0, q1), rows [r0, r1).
struct Group {
  int64_t jc, ncur, q0, q1, r0, r1;
};

// Packs the units of [u0, u1) that nobody has claimed yet, then waits for those others claimed.
template <class PackUnit>
void pack_shared(Flag* flags, int64_t u0, int64_t u1, const PackUnit& pack_unit) {
  for (int64_t u = u0; u < u1; ++u)
    if (claim(flags[u])) pack_unit(u), publish(flags[u]);
  for (int64_t u = u0; u < u1; ++u) wait_packed(flags[u]);
}

void run_part(const Plan& P, const Group& g, int64_t part) {
  const PackedKind& K = *P.kind;
  const int MR = P.MR, NR = P.NR;
  const int64_t es = K.source_bytes;
  const int64_t ib = part / P.jgroups, jg = part % P.jgroups;
  const int64_t i0 = g.r0 + ib * P.mc, mcb = min64(P.mc, g.r1 - i0);
  const int64_t strips = ceil_div(g.ncur, NR), s0 = strips * jg / P.jgroups, s1 = strips * (jg + 1) / P.jgroups;
  const int64_t j0 = s0 * NR, j1 = min64(s1 * NR, g.ncur);
  if (mcb <= 0 || j1 <= j0) return;
  alignas(64) float tmp[kMaxTile];
  for (int64_t q = g.q0; q < g.q1; ++q) {
    const int64_t p0 = q * P.kc, kc = min64(P.kc, P.k - p0), qi = q - g.q0;
    const int64_t kwords = ceil_div(kc, K.depth_per_word);
    auto pack_a = [&](uint32_t* ablk, int64_t r, int64_t rows) {  // rows [r, r + rows) of the block
      const char* src = P.a + es * (P.ta ? p0 * P.lda + i0 + r : (i0 + r) * P.lda + p0);
      K.pack(K.ctx, P.ta, false, src, P.lda, rows, kc, MR, ablk + r * kwords);  // A stored [k, m]: rows contiguous
    };
    uint32_t* ablk = P.abuf + ib * P.own_stride;
    if (!P.shared_a) {
      pack_a(ablk, 0, mcb);
    } else {
      ablk = P.abuf + (qi * P.blocks + ib) * P.mc * P.kwords;
      pack_shared(P.aflags + (qi * P.blocks + ib) * P.aunits, 0, ceil_div(ceil_div(mcb, MR), kUnitPanels),
                  [&](int64_t u) {
                    const int64_t r = u * kUnitPanels * MR;
                    pack_a(ablk, r, min64(mcb - r, kUnitPanels * MR));
                  });
    }
    uint32_t* bpanel = P.bbuf + qi * P.nc * P.kwords;
    pack_shared(P.bflags + qi * P.bunits, s0 / P.ustrips, ceil_div(s1, P.ustrips), [&](int64_t u) {
      const int64_t jb = u * P.ustrips * NR, je = min64(jb + P.ustrips * NR, g.ncur), j = g.jc + jb;
      const char* src = P.b + es * (P.tb ? j * P.ldb + p0 : p0 * P.ldb + j);
      K.pack(K.ctx, !P.tb, true, src, P.ldb, je - jb, kc, NR, bpanel + jb * kwords);  // B stored [k, n]: columns contiguous
    });
    const bool acc = P.accumulate || p0 > 0;
    for (int64_t jr = j0; jr < j1; jr += NR) {
      const int nr = static_cast<int>(min64(j1 - jr, NR));
      const uint32_t* bpan = bpanel + jr * kwords;
      for (int64_t ir = 0; ir < mcb; ir += MR) {
        const int mr = static_cast<int>(min64(mcb - ir, MR));
        const uint32_t* apan = ablk + ir * kwords;
        float* cp = P.c + (i0 + ir) * P.ldc + g.jc + jr;
        if (mr == MR && nr == NR) {
          K.micro(K.ctx, kwords, apan, bpan, cp, P.ldc, acc);
          continue;
        }
        K.micro(K.ctx, kwords, apan, bpan, tmp, NR, false);  // a partial tile through a full temporary one
        for (int i = 0; i < mr; ++i) {
          float* ci = cp + i * P.ldc;
          const float* ti = tmp + i * NR;
          if (acc)
            for (int j = 0; j < nr; ++j) ci[j] += ti[j];
          else
            for (int j = 0; j < nr; ++j) ci[j] = ti[j];
        }
      }
    }
  }
  if (K.finish && g.q1 == P.nq) K.finish(K.ctx, i0, g.jc + j0, mcb, j1 - j0);
}

// Strip ranges per A block: parts enough for kPartsPerThread per thread, their count a multiple of
// the thread count (equal shares when nobody is preempted), each worth a hand-off.
int64_t strip_ranges(int threads, int64_t blocks, int64_t strips, int64_t block_work) {
  if (threads <= 1) return 1;
  int64_t j = ceil_div(threads * kPartsPerThread, blocks);
  while ((blocks * j) % threads != 0 && j < strips) ++j;
  const int64_t worth = block_work / kMinPartWork;
  if (j > worth) j = worth;
  if (j > strips) j = strips;
  return j < 1 ? 1 : j;
}

}  // namespace

void gemm_packed(const PackedKind& kind, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const void* a,
                 int64_t lda, const void* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, bool parallel) {
  Plan P{};
  P.kind = &kind, P.ta = ta, P.tb = tb, P.accumulate = accumulate, P.m = m, P.n = n, P.k = k;
  P.a = static_cast<const char*>(a), P.lda = lda, P.b = static_cast<const char*>(b), P.ldb = ldb, P.c = c, P.ldc = ldc;
  P.MR = kind.mr, P.NR = kind.nr;
  // Equal blocks rather than full ones and a remainder (784 = 4 x 196, not 3 x 256 + 16): the
  // micro-kernel's loads and stores of C are paid per depth block, and a 16-deep block pays them
  // for little work. The depth blocks depend on k alone: the bits do not depend on threads. A block
  // is kKC packed words deep whatever a word holds (bfloat16 pairs: 512 steps), so the panels take
  // the same cache as float32's and the tile's loads and stores of C are paid as rarely per word.
  const int64_t dpu = kind.depth_per_word;
  P.kc = even_block(k, kKC * dpu, 4 * dpu);
  P.nq = ceil_div(k, P.kc);
  P.kwords = ceil_div(P.kc, dpu);
  P.mc = even_block(m, kind.mc, P.MR);
  P.nc = even_block(n, kNC, P.NR);
  const int64_t all_blocks = ceil_div(m, P.mc);
  const int threads = parallel ? num_threads() : 1;
  P.jgroups = strip_ranges(threads, all_blocks, ceil_div(P.nc, P.NR), P.mc * P.nc * ceil_div(k, dpu));
  // An A block that one part alone uses is packed into a buffer of that part (one buffer for all
  // with one thread), which stays in L2 from one depth block to the next.
  const bool shared_a = P.jgroups > 1;
  const int64_t row_groups = threads > 1 ? ceil_div(all_blocks * P.mc * P.kwords, kPackBudget) : 1;
  P.blocks = ceil_div(all_blocks, row_groups);
  const int64_t panel = (shared_a && P.blocks * P.mc > P.nc ? P.blocks * P.mc : P.nc) * P.kwords;
  P.qgroup = kPackBudget / panel < 1 ? 1 : kPackBudget / panel > P.nq ? P.nq : kPackBudget / panel;
  P.aunits = shared_a ? ceil_div(P.mc / P.MR, kUnitPanels) : 0;
  // One thread packs B's panel in one depth-major pass (each source row read once, contiguously).
  P.ustrips = threads > 1 ? kUnitStrips : ceil_div(P.nc, P.NR);
  P.bunits = ceil_div(ceil_div(P.nc, P.NR), P.ustrips);
  // Every buffer is taken before any part runs: a failed allocation leaves C as it was.
  P.shared_a = shared_a;
  P.own_stride = !shared_a && threads > 1 ? P.mc * P.kwords : 0;
  const int64_t a_words = (shared_a ? P.qgroup * P.blocks : threads > 1 ? P.blocks : 1) * P.mc * P.kwords;
  const int64_t b_words = P.qgroup * P.nc * P.kwords;
  const int64_t a_flags = P.qgroup * P.blocks * P.aunits, b_flags = P.qgroup * P.bunits;
  Buffer abuf(sizeof(uint32_t) * static_cast<size_t>(a_words)), bbuf(sizeof(uint32_t) * static_cast<size_t>(b_words));
  Buffer flags(sizeof(Flag) * static_cast<size_t>(a_flags + b_flags));
  P.abuf = static_cast<uint32_t*>(abuf.p), P.bbuf = static_cast<uint32_t*>(bbuf.p);
  P.aflags = static_cast<Flag*>(flags.p), P.bflags = P.aflags + a_flags;
  for (int64_t i = 0; i < a_flags + b_flags; ++i) new (P.aflags + i) Flag(kEmpty);
  for (int64_t jc = 0; jc < n; jc += P.nc) {
    const int64_t ncur = min64(P.nc, n - jc);
    for (int64_t q0 = 0; q0 < P.nq; q0 += P.qgroup) {
      for (int64_t i = 0; i < b_flags; ++i) P.bflags[i].store(kEmpty, std::memory_order_relaxed);
      for (int64_t r0 = 0; r0 < m; r0 += P.blocks * P.mc) {
        for (int64_t i = 0; i < a_flags; ++i) P.aflags[i].store(kEmpty, std::memory_order_relaxed);
        const Group g{jc, ncur, q0, min64(P.nq, q0 + P.qgroup), r0, min64(m, r0 + P.blocks * P.mc)};
        auto parts = [&](int64_t p0, int64_t p1) {
          for (int64_t p = p0; p < p1; ++p) run_part(P, g, p);
        };
        const int64_t count = ceil_div(g.r1 - r0, P.mc) * P.jgroups;
        if (threads > 1)
          parallel_parts(count, parts);
        else
          parts(0, count);
      }
    }
  }
}

void gemm_f32_blocked(const KernelTable& t, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a,
                      int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate, bool parallel) {
  const PackedKind kind{t.gemm_mr, t.gemm_nr, kMC, 1, sizeof(float), &t,
                        [](const void* ctx, bool lc, bool dm, const void* src, int64_t ld, int64_t extent, int64_t kc,
                           int R, void* dst) {
                          pack_f32(*static_cast<const KernelTable*>(ctx), lc, dm, static_cast<const float*>(src), ld,
                                   extent, kc, R, static_cast<float*>(dst));
                        },
                        [](const void* ctx, int64_t words, const void* pa, const void* pb, float* pc, int64_t ld,
                           bool acc) {
                          static_cast<const KernelTable*>(ctx)->gemm_micro_f32(words, static_cast<const float*>(pa),
                                                                               static_cast<const float*>(pb), pc, ld, acc);
                        },
                        nullptr};
  gemm_packed(kind, ta, tb, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);
}

}  // namespace kernels
}  // namespace ndgrad
