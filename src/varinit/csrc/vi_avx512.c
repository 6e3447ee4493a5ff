/* vi_avx512.c - the AVX-512 (F/DQ/BW/VL) kernels.
 *
 * Compiled alone with -mavx512f -mavx512dq -mavx512bw -mavx512vl (MSVC
 * /arch:AVX512); dispatch calls it only on CPUs and OSes that run it.  Every
 * kernel writes exactly the bits of the scalar reference (vi_scalar.c): the
 * same IEEE operations in the same order, one rounding each, never a fused
 * multiply-add (no _mm512_fmadd_*, and -ffp-contract=off for the rest).
 *
 * Lanes: the 16 lane states of a block live in two registers of eight 64-bit
 * states (lanes 0-7, 8-15).  A PCG32 step depends on the previous one through
 * a multiply, so the kernels run four leapfrog chains: chain c holds the
 * lanes at draw d + c and jumps four draws per step (s -> A4*s + G4*inc),
 * which keeps four independent multiplies in flight and changes no bit.
 * Each row of the block consumes D draws per lane (1 for float32 uniform,
 * 2 for float64 uniform and float32 polar, 4 for float64 polar), so one
 * step of the chains yields 4/D rows. */
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>
#include "vi_rows.h"
#include "vi_normal.h"

/* ---- PCG32 lanes in registers ------------------------------------------ */

typedef struct {
    __m512i s[4][2];        /* chain c, lanes 0-7 / 8-15 */
    __m512i plus[2];        /* G4 * inc per lane */
    __m512i mult;           /* A4 = a^4 */
} chains;

VI_INLINE __m512i lcg(__m512i s, __m512i mult, __m512i plus)
{
    return _mm512_add_epi64(_mm512_mullo_epi64(s, mult), plus);
}

/* Chains at draws 0..3 from the lanes' current state. */
VI_INLINE void chains_init(chains *C, const vi_lanes *L)
{
    uint64_t a4, g4;
    vi_lcg_jump(4, 1u, &a4, &g4);
    const __m512i a = _mm512_set1_epi64((long long)VI_PCG32_MULT);
    for (int h = 0; h < 2; h++) {
        __m512i inc = _mm512_loadu_si512((const void *)(L->inc + 8 * h));
        C->s[0][h] = _mm512_loadu_si512((const void *)(L->state + 8 * h));
        for (int c = 1; c < 4; c++) C->s[c][h] = lcg(C->s[c - 1][h], a, inc);
        C->plus[h] = _mm512_mullo_epi64(inc, _mm512_set1_epi64((long long)g4));
    }
    C->mult = _mm512_set1_epi64((long long)a4);
}

VI_INLINE void chains_step(chains *C)
{
    for (int c = 0; c < 4; c++)
        for (int h = 0; h < 2; h++) C->s[c][h] = lcg(C->s[c][h], C->mult, C->plus[h]);
}

/* PCG32 output of eight states, left in their 64-bit lanes: the low dword
 * is the output.  x = ((old >> 18) ^ old) >> 27 holds xorshifted in its low
 * dword and old >> 59 (the rotation) in its high dword, so one 32-bit
 * rotate by the high dwords, shifted down, finishes it. */
VI_INLINE __m512i pcg_out64(__m512i old)
{
    __m512i x = _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(old, 18), old), 27);
    return _mm512_rorv_epi32(x, _mm512_srli_epi64(x, 32));
}

/* The 16 outputs of chain c, packed in lane order: gather the xorshifted
 * low dwords and the rotation high dwords of both halves, then rotate once
 * (two permutes and one rotate instead of two shifts, two rotates and a
 * permute). */
VI_INLINE __m512i draw32(const chains *C, int c)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                           16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15,
                                          17, 19, 21, 23, 25, 27, 29, 31);
    __m512i a = _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(C->s[c][0], 18), C->s[c][0]), 27);
    __m512i b = _mm512_srli_epi64(_mm512_xor_si512(_mm512_srli_epi64(C->s[c][1], 18), C->s[c][1]), 27);
    return _mm512_rorv_epi32(_mm512_permutex2var_epi32(a, even, b),
                             _mm512_permutex2var_epi32(a, odd, b));
}

/* 53 bits of two consecutive draws (chains c and c+1) of lanes 8h..8h+7,
 * first draw high: w >> 11 of w = first << 32 | second. */
VI_INLINE __m512i draw53(const chains *C, int c, int h)
{
    __m512i first = _mm512_slli_epi64(pcg_out64(C->s[c][h]), 32);
    __m512i w = _mm512_mask_blend_epi32(0x5555, first, pcg_out64(C->s[c + 1][h]));
    return _mm512_srli_epi64(w, 11);
}

/* ---- bit-to-float maps (vi_stream.h) ------------------------------------ */

VI_INLINE __m512 unit_f32(__m512i r)
{
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(r, 8)), _mm512_set1_ps(0x1p-24f));
}

VI_INLINE __m512d unit_f64(__m512i w53)
{
    return _mm512_mul_pd(_mm512_cvtepi64_pd(w53), _mm512_set1_pd(0x1p-53));
}

/* ---- rows of a block ------------------------------------------------------ */

typedef struct { __m512d h[2]; } vec2d;

#define STORE_SI(p, v) _mm512_storeu_si512((void *)(p), (v))
#define STORE_PS(p, v) _mm512_storeu_ps((p), (v))
#define STORE_PD2(p, v) (_mm512_storeu_pd((p), (v).h[0]), _mm512_storeu_pd((p) + 8, (v).h[1]))

static void raw_u32(vi_lanes *L, size_t skip, size_t n, uint32_t *out)
{
#define RAW_ROW(c, v) ((v) = draw32(&C, (c)))
    VI_ROW_LOOP(uint32_t, __m512i, STORE_SI, 4, RAW_ROW);
}

/* base + unit * width with unit = k * 2^-24 exact.  When width * 2^-24 is
 * itself exact (a normal float), k * (width * 2^-24) is the same real
 * product, so it rounds to the same float: one multiply instead of two. */
static void uniform_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const __m512 base = _mm512_set1_ps(p->base_f), top = _mm512_set1_ps(p->top_f);
    const float scaled = p->width_f * 0x1p-24f;
    /* min(top, v) is top only when top < v: the reference's `v > top ? top : v` */
    if (scaled >= 0x1p-126f) {
        const __m512 w = _mm512_set1_ps(scaled);
#define UNI_ROW_1(c, v) ((v) = _mm512_min_ps(top, _mm512_add_ps(base, _mm512_mul_ps( \
        _mm512_cvtepi32_ps(_mm512_srli_epi32(draw32(&C, (c)), 8)), w))))
        VI_ROW_LOOP(float, __m512, STORE_PS, 4, UNI_ROW_1);
    } else {
        const __m512 w = _mm512_set1_ps(p->width_f);
#define UNI_ROW_2(c, v) ((v) = _mm512_min_ps(top, _mm512_add_ps(base, _mm512_mul_ps( \
        unit_f32(draw32(&C, (c))), w))))
        VI_ROW_LOOP(float, __m512, STORE_PS, 4, UNI_ROW_2);
    }
}

static void uniform_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    const __m512d base = _mm512_set1_pd(p->base), top = _mm512_set1_pd(p->top);
    const double scaled = p->width * 0x1p-53;
    if (scaled >= 0x1p-1022) {
        const __m512d w = _mm512_set1_pd(scaled);
#define UNI64_ROW_1(c, v) do { for (int h_ = 0; h_ < 2; h_++)                          \
        (v).h[h_] = _mm512_min_pd(top, _mm512_add_pd(base, _mm512_mul_pd(             \
            _mm512_cvtepi64_pd(draw53(&C, 2 * (c), h_)), w))); } while (0)
        VI_ROW_LOOP(double, vec2d, STORE_PD2, 2, UNI64_ROW_1);
    } else {
        const __m512d w = _mm512_set1_pd(p->width);
#define UNI64_ROW_2(c, v) do { for (int h_ = 0; h_ < 2; h_++)                          \
        (v).h[h_] = _mm512_min_pd(top, _mm512_add_pd(base, _mm512_mul_pd(             \
            unit_f64(draw53(&C, 2 * (c), h_)), w))); } while (0)
        VI_ROW_LOOP(double, vec2d, STORE_PD2, 2, UNI64_ROW_2);
    }
}

/* ---- the normal family: ziggurat ------------------------------------------ */

/* One compacted row (the accepted candidates in lane order) to the output.
 * Compression happens in registers (the memory form of vcompress is
 * microcoded on Zen 4, about 4x slower), followed by a full-width store that
 * spills garbage past the accepted values; the next row's store overwrites
 * it, so full-width stores are used only while a whole row still fits
 * below `end`.  Rows before `skip` or near the end go through a buffer.
 * Merge-masking the compress into its own source avoids Zen 4's false
 * dependency on a zeroed destination. */
VI_INLINE void emit_row_f32(__m512 x, __mmask16 keep, size_t *pos, size_t skip, size_t end,
                            float *out)
{
    int count = vi_popcount32(keep);
    __m512 packed = _mm512_mask_compress_ps(x, keep, x);
    if (*pos >= skip && *pos + VI_LANES <= end) {
        _mm512_storeu_ps(out + (*pos - skip), packed);
        *pos += (size_t)count;
        return;
    }
    float tmp[VI_LANES];
    _mm512_storeu_ps(tmp, packed);
    VI_EMIT_COMPACTED(tmp, count, pos, skip, end, out);
}

VI_INLINE void emit_row_f64(const __m512d x[2], const __mmask8 keep[2], size_t *pos,
                            size_t skip, size_t end, double *out)
{
    int n0 = vi_popcount32(keep[0]), n1 = vi_popcount32(keep[1]);
    __m512d c0 = _mm512_mask_compress_pd(x[0], keep[0], x[0]);
    __m512d c1 = _mm512_mask_compress_pd(x[1], keep[1], x[1]);
    if (*pos >= skip && *pos + VI_LANES <= end) {
        double *dst = out + (*pos - skip);
        _mm512_storeu_pd(dst, c0);
        _mm512_storeu_pd(dst + n0, c1);
        *pos += (size_t)(n0 + n1);
        return;
    }
    double tmp[VI_LANES + 8];
    _mm512_storeu_pd(tmp, c0);
    _mm512_storeu_pd(tmp + n0, c1);
    VI_EMIT_COMPACTED(tmp, n0 + n1, pos, skip, end, out);
}

/* The candidates of one row that failed the fast test (mask `slow`), in
 * lane order through the shared scalar slow path; returns the lanes that
 * were rejected. */
VI_INLINE __mmask16 slow_lanes_f32(vi_lanes *W, __mmask16 slow, __m512i layer, __m512 *x)
{
    float mag[VI_LANES];
    uint32_t k[VI_LANES];
    __mmask16 rejected = 0;
    _mm512_storeu_ps(mag, *x);
    _mm512_storeu_si512((void *)k, layer);
    for (unsigned m = slow; m; m &= m - 1) {
        int l = vi_ctz32(m);
        if (!vi_zig_slow_f32(W, l, k[l], &mag[l])) rejected |= (__mmask16)(1u << l);
    }
    *x = _mm512_loadu_ps(mag);
    return rejected;
}

static void normal_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const __m512 mean = _mm512_set1_ps(p->mean_f), stddev = _mm512_set1_ps(p->stddev_f);
    const __m512 lo = _mm512_set1_ps(p->lo_f), hi = _mm512_set1_ps(p->hi_f);
    const __m512i seven = _mm512_set1_epi32(127), sign = _mm512_set1_epi32((int)0x80000000u);
    size_t pos = 0, end = skip + n;
    vi_lanes W;
    chains C;
    vi_wedge_lanes(L, &W);
    chains_init(&C, L);
    for (;;) {
        /* four rows per chain step, row c from chain c */
        __m512 x[4];
        __m512i d[4], k[4];
        __mmask16 fast[4];
        for (int c = 0; c < 4; c++) {
            d[c] = draw32(&C, c);
            k[c] = _mm512_and_si512(d[c], seven);
            __m512 edge = _mm512_i32gather_ps(k[c], vi_zig_x_f32, 4);
            __m512 next = _mm512_i32gather_ps(k[c], vi_zig_x_f32 + 1, 4);
            x[c] = _mm512_mul_ps(unit_f32(d[c]), edge);
            fast[c] = _mm512_cmp_ps_mask(x[c], next, _CMP_LT_OQ);
        }
        chains_step(&C);
        for (int c = 0; c < 4; c++) {
            __mmask16 ok = 0xFFFF;
            if (fast[c] != 0xFFFF) ok = (__mmask16)~slow_lanes_f32(&W, (__mmask16)~fast[c], k[c], &x[c]);
            __m512 z = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x[c]),
                _mm512_and_si512(_mm512_slli_epi32(d[c], 24), sign)));
            __m512 v = _mm512_add_ps(mean, _mm512_mul_ps(stddev, z));
            __mmask16 keep = ok & _mm512_cmp_ps_mask(lo, v, _CMP_LE_OQ) & _mm512_cmp_ps_mask(v, hi, _CMP_LE_OQ);
            emit_row_f32(v, keep, &pos, skip, end, out);
            if (pos >= end) return;
        }
    }
}

VI_INLINE __mmask8 slow_lanes_f64(vi_lanes *W, int first_lane, __mmask8 slow, __m512i layer,
                                  __m512d *x)
{
    double mag[8];
    uint64_t k[8];
    __mmask8 rejected = 0;
    _mm512_storeu_pd(mag, *x);
    _mm512_storeu_si512((void *)k, layer);
    for (unsigned m = slow; m; m &= m - 1) {
        int l = vi_ctz32(m);
        if (!vi_zig_slow_f64(W, first_lane + l, (unsigned)k[l], &mag[l])) rejected |= (__mmask8)(1u << l);
    }
    *x = _mm512_loadu_pd(mag);
    return rejected;
}

/* 64 bits per candidate: w = first << 32 | second from chains (c, c+1). */
VI_INLINE __m512i draw64(const chains *C, int c, int h)
{
    __m512i first = _mm512_slli_epi64(pcg_out64(C->s[c][h]), 32);
    return _mm512_mask_blend_epi32(0x5555, first, pcg_out64(C->s[c + 1][h]));
}

static void normal_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    const __m512d mean = _mm512_set1_pd(p->mean), stddev = _mm512_set1_pd(p->stddev);
    const __m512d lo = _mm512_set1_pd(p->lo), hi = _mm512_set1_pd(p->hi);
    const __m512i seven = _mm512_set1_epi64(127), sign = _mm512_set1_epi64((long long)(UINT64_C(1) << 63));
    const __m512d tiny = _mm512_set1_pd(0x1p-53);
    size_t pos = 0, end = skip + n;
    vi_lanes W;
    chains C;
    vi_wedge_lanes(L, &W);
    chains_init(&C, L);
    for (;;) {
        /* two rows per chain step, row r from chains (2r, 2r+1); two
         * vectors per row (lanes 0-7, 8-15) */
        __m512d x[2][2];
        __m512i w[2][2], k[2][2];
        __mmask8 fast[2][2];
        for (int r = 0; r < 2; r++)
            for (int h = 0; h < 2; h++) {
                w[r][h] = draw64(&C, 2 * r, h);
                k[r][h] = _mm512_and_si512(w[r][h], seven);
                __m512d edge = _mm512_i64gather_pd(k[r][h], vi_zig_x_f64, 8);
                __m512d next = _mm512_i64gather_pd(k[r][h], vi_zig_x_f64 + 1, 8);
                __m512d u = _mm512_mul_pd(_mm512_cvtepi64_pd(_mm512_srli_epi64(w[r][h], 11)), tiny);
                x[r][h] = _mm512_mul_pd(u, edge);
                fast[r][h] = _mm512_cmp_pd_mask(x[r][h], next, _CMP_LT_OQ);
            }
        chains_step(&C);
        for (int r = 0; r < 2; r++) {
            __m512d v[2];
            __mmask8 keep[2];
            for (int h = 0; h < 2; h++) {
                __mmask8 ok = 0xFF;
                if (fast[r][h] != 0xFF)
                    ok = (__mmask8)~slow_lanes_f64(&W, 8 * h, (__mmask8)~fast[r][h], k[r][h], &x[r][h]);
                __m512d z = _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x[r][h]),
                    _mm512_and_si512(_mm512_slli_epi64(w[r][h], 56), sign)));
                v[h] = _mm512_add_pd(mean, _mm512_mul_pd(stddev, z));
                keep[h] = ok & _mm512_cmp_pd_mask(lo, v[h], _CMP_LE_OQ) & _mm512_cmp_pd_mask(v[h], hi, _CMP_LE_OQ);
            }
            emit_row_f64(v, keep, &pos, skip, end, out);
            if (pos >= end) return;
        }
    }
}

/* ---- float16 / bfloat16 ---------------------------------------------------- */

/* Clamp 32 half-width patterns to [clamp_lo, clamp_hi] in value order: the
 * key of a sign-magnitude pattern is +-magnitude (vi_half_key). */
VI_INLINE __m512i clamp_halves(__m512i h, __m512i klo, __m512i khi, __m512i blo, __m512i bhi)
{
    __m512i neg = _mm512_srai_epi16(h, 15);
    __m512i key = _mm512_sub_epi16(_mm512_xor_si512(_mm512_and_si512(h, _mm512_set1_epi16(0x7FFF)), neg), neg);
    h = _mm512_mask_blend_epi16(_mm512_cmplt_epi16_mask(key, klo), h, blo);
    return _mm512_mask_blend_epi16(_mm512_cmpgt_epi16_mask(key, khi), h, bhi);
}

/* bfloat16 round to nearest even on the integer pattern (vi_f32_to_bf16);
 * vcvtne2ps2bf16 would need AVX512_BF16 and flushes subnormals. */
VI_INLINE __m256i to_bf16(__m512 x)
{
    __m512i u = _mm512_castps_si512(x);
    __m512i odd = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7FFF)), odd);
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(u, 16));
}

/* float16: vcvtps2ph with round-to-nearest-even is exactly vi_f32_to_f16
 * (it ignores MXCSR's FTZ/DAZ, produces subnormals and overflows to inf). */
VI_INLINE __m256i to_f16(__m512 x)
{
    return _mm512_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
}

/* 32 values per step: plain loads and stores, masked ones for the tail. */
#define NARROW_KERNEL(NAME, CONVERT)                                         \
static void NAME(const float *in, size_t n, uint16_t *out, const vi_params *p) \
{                                                                            \
    const __m512i klo = _mm512_set1_epi16((int16_t)vi_half_key(p->clamp_lo));           \
    const __m512i khi = _mm512_set1_epi16((int16_t)vi_half_key(p->clamp_hi));           \
    const __m512i blo = _mm512_set1_epi16((short)p->clamp_lo);              \
    const __m512i bhi = _mm512_set1_epi16((short)p->clamp_hi);              \
    size_t i = 0;                                                            \
    for (; i + 32 <= n; i += 32) {                                           \
        __m256i a = CONVERT(_mm512_loadu_ps(in + i));                        \
        __m256i b = CONVERT(_mm512_loadu_ps(in + i + 16));                   \
        __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);     \
        _mm512_storeu_si512((void *)(out + i), clamp_halves(h, klo, khi, blo, bhi)); \
    }                                                                        \
    if (i < n) {                                                             \
        size_t left = n - i;                                                 \
        __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u); \
        __mmask16 m1 = left <= 16 ? (__mmask16)0 : (__mmask16)((1u << (left - 16)) - 1u); \
        __m256i a = CONVERT(_mm512_maskz_loadu_ps(m0, in + i));              \
        __m256i b = CONVERT(_mm512_maskz_loadu_ps(m1, in + i + 16));         \
        __m512i h = _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);     \
        __mmask32 m = (__mmask32)m0 | ((__mmask32)m1 << 16);                 \
        _mm512_mask_storeu_epi16((void *)(out + i), m, clamp_halves(h, klo, khi, blo, bhi)); \
    }                                                                        \
}

NARROW_KERNEL(narrow_f16, to_f16)
NARROW_KERNEL(narrow_bf16, to_bf16)

/* ---- block seeding ----------------------------------------------------- */

VI_INLINE __m512i mix64(__m512i z)
{
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                           _mm512_set1_epi64((long long)UINT64_C(0xBF58476D1CE4E5B9)));
    z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                           _mm512_set1_epi64((long long)UINT64_C(0x94D049BB133111EB)));
    return _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
}

/* vi_block_lanes, eight lanes per register: it runs once per 4096 values,
 * about 5% of a uniform fill when done one lane at a time. */
static void block_lanes(uint64_t seed, uint64_t block, vi_lanes *L)
{
    const uint64_t key = vi_block_key(seed, block);
    const __m512i a = _mm512_set1_epi64((long long)VI_PCG32_MULT);
    const __m512i golden = _mm512_set1_epi64((long long)VI_GOLDEN);
    for (int h = 0; h < 2; h++) {
        /* j = 2l + 1 and 2l + 2 for lanes l = 8h .. 8h + 7 */
        __m512i l = _mm512_add_epi64(_mm512_set1_epi64(8 * h), _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7));
        __m512i j1 = _mm512_add_epi64(_mm512_slli_epi64(l, 1), _mm512_set1_epi64(1));
        __m512i j2 = _mm512_add_epi64(j1, _mm512_set1_epi64(1));
        __m512i k = _mm512_set1_epi64((long long)key);
        __m512i initstate = mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(j1, golden)));
        __m512i initseq = mix64(_mm512_add_epi64(k, _mm512_mullo_epi64(j2, golden)));
        /* pcg32_srandom: state 0, inc 2*initseq+1, step, add, step */
        __m512i inc = _mm512_or_si512(_mm512_slli_epi64(initseq, 1), _mm512_set1_epi64(1));
        __m512i state = _mm512_add_epi64(inc, initstate);           /* 0*a + inc, + initstate */
        state = _mm512_add_epi64(_mm512_mullo_epi64(state, a), inc);
        _mm512_storeu_si512((void *)(L->state + 8 * h), state);
        _mm512_storeu_si512((void *)(L->inc + 8 * h), inc);
    }
    L->key = key;
}

VI_STANDARD_SLOTS(narrow_f16, narrow_bf16)

const vi_kernel_table vi_kernels_avx512 = VI_STANDARD_TABLE("avx512", block_lanes);

#else
typedef int vi_avx512_not_built;   /* ISO C: no empty translation unit */
#endif /* x86-64 */
