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

/* vi_log_f32 and vi_log_f64, lane-wise: the same operations in the same
 * order, so every lane rounds as the scalar reference does. */
VI_INLINE __m512 log_ps(__m512 s)
{
    const __m512 one = _mm512_set1_ps(1.0f);
    __m512i bits = _mm512_castps_si512(s);
    __m512i e = _mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(127));
    __m512 m = _mm512_castsi512_ps(_mm512_or_si512(
        _mm512_and_si512(bits, _mm512_set1_epi32(0x007FFFFF)), _mm512_set1_epi32(0x3F800000)));
    __mmask16 big = _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
    e = _mm512_mask_add_epi32(e, big, e, _mm512_set1_epi32(1));
    __m512 t = _mm512_div_ps(_mm512_sub_ps(m, one), _mm512_add_ps(m, one));
    __m512 t2 = _mm512_mul_ps(t, t), q = _mm512_set1_ps(vi_log_series_f32[0]);
    for (int k = 1; k < 5; k++)
        q = _mm512_add_ps(_mm512_mul_ps(q, t2), _mm512_set1_ps(vi_log_series_f32[k]));
    __m512 ef = _mm512_cvtepi32_ps(e);
    __m512 lo = _mm512_add_ps(_mm512_mul_ps(ef, _mm512_set1_ps(VI_LN2_LO_F32)),
                              _mm512_mul_ps(_mm512_add_ps(t, t), q));
    return _mm512_add_ps(lo, _mm512_mul_ps(ef, _mm512_set1_ps(VI_LN2_HI_F32)));
}

VI_INLINE __m512d log_pd(__m512d s)
{
    const __m512d one = _mm512_set1_pd(1.0);
    __m512i bits = _mm512_castpd_si512(s);
    __m512i e = _mm512_sub_epi64(_mm512_srli_epi64(bits, 52), _mm512_set1_epi64(1023));
    __m512d m = _mm512_castsi512_pd(_mm512_or_si512(
        _mm512_and_si512(bits, _mm512_set1_epi64(0x000FFFFFFFFFFFFFLL)),
        _mm512_set1_epi64(0x3FF0000000000000LL)));
    __mmask8 big = _mm512_cmp_pd_mask(m, _mm512_set1_pd(1.4142135623730951), _CMP_GT_OQ);
    m = _mm512_mask_mul_pd(m, big, m, _mm512_set1_pd(0.5));
    e = _mm512_mask_add_epi64(e, big, e, _mm512_set1_epi64(1));
    __m512d t = _mm512_div_pd(_mm512_sub_pd(m, one), _mm512_add_pd(m, one));
    __m512d t2 = _mm512_mul_pd(t, t), q = _mm512_set1_pd(vi_log_series_f64[0]);
    for (int k = 1; k < 12; k++)
        q = _mm512_add_pd(_mm512_mul_pd(q, t2), _mm512_set1_pd(vi_log_series_f64[k]));
    __m512d ef = _mm512_cvtepi64_pd(e);
    __m512d lo = _mm512_add_pd(_mm512_mul_pd(ef, _mm512_set1_pd(VI_LN2_LO_F64)),
                               _mm512_mul_pd(_mm512_add_pd(t, t), q));
    return _mm512_add_pd(lo, _mm512_mul_pd(ef, _mm512_set1_pd(VI_LN2_HI_F64)));
}

/* (0, 1) maps of docs/stream.md 5.1, lane-wise: the integer conversions
 * round to nearest as the scalar casts do. */
VI_INLINE __m512 open_ps(__m512i d)
{
    __m512i j = _mm512_or_si512(_mm512_srli_epi32(d, 7), _mm512_set1_epi32(1));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(j), _mm512_set1_ps(0x1p-25f));
}

VI_INLINE __m512d open_pd(__m512i w)
{
    __m512i j = _mm512_or_si512(_mm512_srli_epi64(w, 10), _mm512_set1_epi64(1));
    return _mm512_mul_pd(_mm512_cvtepi64_pd(j), _mm512_set1_pd(0x1p-54));
}

VI_INLINE __m512 neg_ps(__m512 x)
{
    return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x), _mm512_set1_epi32((int)0x80000000u)));
}

VI_INLINE __m512d neg_pd(__m512d x)
{
    return _mm512_castsi512_pd(_mm512_xor_si512(_mm512_castpd_si512(x),
                                                _mm512_set1_epi64((long long)(UINT64_C(1) << 63))));
}

/* ---- ziggurat tables in registers ------------------------------------------ */

/* A 128-entry table held in registers: the gathers this replaces are
 * microcoded and cost several times more than two-register permutes
 * (which read the low index bits only) and blends on the higher bits. */
typedef struct { __m512 t[8]; } table128_ps;
typedef struct { __m512d t[16]; } table128_pd;

VI_INLINE void table128_ps_load(table128_ps *T, const float *src)
{
    for (int j = 0; j < 8; j++) T->t[j] = _mm512_loadu_ps(src + 16 * j);
}

VI_INLINE void table128_pd_load(table128_pd *T, const double *src)
{
    for (int j = 0; j < 16; j++) T->t[j] = _mm512_loadu_pd(src + 8 * j);
}

/* bit5, bit6: the lanes whose index has bit 5 / bit 6 set. */
VI_INLINE __m512 table128_ps_lookup(const table128_ps *T, __m512i k, __mmask16 bit5, __mmask16 bit6)
{
    __m512 a = _mm512_permutex2var_ps(T->t[0], k, T->t[1]);
    __m512 b = _mm512_permutex2var_ps(T->t[2], k, T->t[3]);
    __m512 c = _mm512_permutex2var_ps(T->t[4], k, T->t[5]);
    __m512 d = _mm512_permutex2var_ps(T->t[6], k, T->t[7]);
    return _mm512_mask_blend_ps(bit6, _mm512_mask_blend_ps(bit5, a, b), _mm512_mask_blend_ps(bit5, c, d));
}

/* bits[0..2]: the lanes whose index has bit 4, 5, 6 set. */
VI_INLINE __m512d table128_pd_lookup(const table128_pd *T, __m512i k, const __mmask8 bits[3])
{
    __m512d v[8];
    for (int j = 0; j < 8; j++) v[j] = _mm512_permutex2var_pd(T->t[2 * j], k, T->t[2 * j + 1]);
    for (int j = 0; j < 4; j++) v[j] = _mm512_mask_blend_pd(bits[0], v[2 * j], v[2 * j + 1]);
    for (int j = 0; j < 2; j++) v[j] = _mm512_mask_blend_pd(bits[1], v[2 * j], v[2 * j + 1]);
    return _mm512_mask_blend_pd(bits[2], v[0], v[1]);
}

/* ---- the wedge lanes ------------------------------------------------------ */

/* One draw of the wedge lanes of half h (lanes 8h .. 8h+7) selected by m;
 * the others keep their state.  The draw is in the low dword of each lane. */
VI_INLINE __m512i wedge_draw_half(vi_lanes *W, int h, __mmask8 m)
{
    __m512i s = _mm512_loadu_si512((const void *)(W->state + 8 * h));
    __m512i next = lcg(s, _mm512_set1_epi64((long long)VI_PCG32_MULT),
                       _mm512_loadu_si512((const void *)(W->inc + 8 * h)));
    _mm512_storeu_si512((void *)(W->state + 8 * h), _mm512_mask_mov_epi64(s, m, next));
    return pcg_out64(s);
}

/* One draw of the wedge lanes in m, 16 outputs in lane order. */
VI_INLINE __m512i wedge_draw32(vi_lanes *W, __mmask16 m)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14,
                                           16, 18, 20, 22, 24, 26, 28, 30);
    __m512i a = wedge_draw_half(W, 0, (__mmask8)m), b = wedge_draw_half(W, 1, (__mmask8)(m >> 8));
    return _mm512_permutex2var_epi32(a, even, b);
}

/* Two draws of the wedge lanes of half h in m: w = first << 32 | second. */
VI_INLINE __m512i wedge_draw64(vi_lanes *W, int h, __mmask8 m)
{
    __m512i first = _mm512_slli_epi64(wedge_draw_half(W, h, m), 32);
    return _mm512_mask_blend_epi32(0x5555, first, wedge_draw_half(W, h, m));
}

/* The tail candidates of one row (mask `tail`, layer 0, rare: about one in
 * 2000) through the scalar slow path, which never rejects. */
VI_INLINE __m512 tail_lanes_f32(vi_lanes *W, __mmask16 tail, __m512 x)
{
    float mag[VI_LANES];
    _mm512_storeu_ps(mag, x);
    for (unsigned m = tail; m; m &= m - 1) vi_zig_slow_f32(W, vi_ctz32(m), 0, &mag[vi_ctz32(m)]);
    return _mm512_loadu_ps(mag);
}

VI_INLINE __m512d tail_lanes_f64(vi_lanes *W, int first_lane, __mmask8 tail, __m512d x)
{
    double mag[8];
    _mm512_storeu_pd(mag, x);
    for (unsigned m = tail; m; m &= m - 1)
        vi_zig_slow_f64(W, first_lane + vi_ctz32(m), 0, &mag[vi_ctz32(m)]);
    return _mm512_loadu_pd(mag);
}

/* The row's candidates that failed the fast test (~fast): wedge tests in
 * the vector unit, one wedge draw per wedge lane; returns the accepted. */
typedef struct { table128_ps f0, f1; } heights_ps;   /* F[k], F[k + 1] */
typedef struct { table128_pd f0, f1; } heights_pd;

VI_INLINE __mmask16 slow_row_f32(vi_lanes *W, const heights_ps *F, __mmask16 fast, __m512i d, __m512 *x)
{
    __m512i k = _mm512_and_si512(d, _mm512_set1_epi32(127));
    __mmask16 tail = (__mmask16)~fast & _mm512_cmpeq_epi32_mask(k, _mm512_setzero_si512());
    __mmask16 wedge = (__mmask16)~fast & (__mmask16)~tail, ok = fast | tail;
    if (wedge) {
        __mmask16 m5 = _mm512_test_epi32_mask(k, _mm512_set1_epi32(32));
        __mmask16 m6 = _mm512_test_epi32_mask(k, _mm512_set1_epi32(64));
        __m512 f0 = table128_ps_lookup(&F->f0, k, m5, m6);
        __m512 f1 = table128_ps_lookup(&F->f1, k, m5, m6);
        __m512 y = _mm512_add_ps(f0, _mm512_mul_ps(unit_f32(wedge_draw32(W, wedge)), _mm512_sub_ps(f1, f0)));
        __m512 bound = _mm512_mul_ps(_mm512_mul_ps(*x, *x), _mm512_set1_ps(-0.5f));
        ok |= wedge & _mm512_cmp_ps_mask(log_ps(y), bound, _CMP_LT_OQ);
    }
    if (tail) *x = tail_lanes_f32(W, tail, *x);
    return ok;
}

VI_INLINE __mmask8 slow_half_f64(vi_lanes *W, const heights_pd *F, int h, __mmask8 fast,
                                 __m512i w, const __mmask8 bits[3], __m512d *x)
{
    __m512i k = _mm512_and_si512(w, _mm512_set1_epi64(127));
    __mmask8 tail = (__mmask8)~fast & _mm512_cmpeq_epi64_mask(k, _mm512_setzero_si512());
    __mmask8 wedge = (__mmask8)~fast & (__mmask8)~tail, ok = fast | tail;
    if (wedge) {
        __m512d f0 = table128_pd_lookup(&F->f0, k, bits);
        __m512d f1 = table128_pd_lookup(&F->f1, k, bits);
        __m512d u = unit_f64(_mm512_srli_epi64(wedge_draw64(W, h, wedge), 11));
        __m512d y = _mm512_add_pd(f0, _mm512_mul_pd(u, _mm512_sub_pd(f1, f0)));
        __m512d bound = _mm512_mul_pd(_mm512_mul_pd(*x, *x), _mm512_set1_pd(-0.5));
        ok |= wedge & _mm512_cmp_pd_mask(log_pd(y), bound, _CMP_LT_OQ);
    }
    if (tail) *x = tail_lanes_f64(W, 8 * h, tail, *x);
    return ok;
}

/* ---- the ziggurat ----------------------------------------------------------- */

static void normal_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const __m512 mean = _mm512_set1_ps(p->mean_f), stddev = _mm512_set1_ps(p->stddev_f);
    const __m512 lo = _mm512_set1_ps(p->lo_f), hi = _mm512_set1_ps(p->hi_f);
    const __m512i sign = _mm512_set1_epi32((int)0x80000000u);
    const __m512i b5 = _mm512_set1_epi32(32), b6 = _mm512_set1_epi32(64);
    table128_ps edges, nexts;           /* X[k], X[k + 1] */
    table128_ps_load(&edges, vi_zig_x_f32);
    table128_ps_load(&nexts, vi_zig_x_f32 + 1);
    heights_ps F;
    table128_ps_load(&F.f0, vi_zig_f_f32);
    table128_ps_load(&F.f1, vi_zig_f_f32 + 1);
    size_t pos = 0, end = skip + n;
    vi_lanes W;
    chains C;
    vi_wedge_lanes(L, &W);
    chains_init(&C, L);
    for (;;) {
        /* four rows per chain step, row c from chain c */
        __m512 x[4];
        __m512i d[4];
        __mmask16 fast[4];
        for (int c = 0; c < 4; c++) {
            d[c] = draw32(&C, c);
            __mmask16 m5 = _mm512_test_epi32_mask(d[c], b5), m6 = _mm512_test_epi32_mask(d[c], b6);
            x[c] = _mm512_mul_ps(unit_f32(d[c]), table128_ps_lookup(&edges, d[c], m5, m6));
            fast[c] = _mm512_cmp_ps_mask(x[c], table128_ps_lookup(&nexts, d[c], m5, m6), _CMP_LT_OQ);
        }
        chains_step(&C);
        for (int c = 0; c < 4; c++) {
            __mmask16 ok = fast[c] == 0xFFFF ? fast[c] : slow_row_f32(&W, &F, fast[c], d[c], &x[c]);
            __m512 z = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x[c]),
                _mm512_and_si512(_mm512_slli_epi32(d[c], 24), sign)));
            __m512 v = _mm512_add_ps(mean, _mm512_mul_ps(stddev, z));
            __mmask16 keep = ok & _mm512_cmp_ps_mask(lo, v, _CMP_LE_OQ) & _mm512_cmp_ps_mask(v, hi, _CMP_LE_OQ);
            emit_row_f32(v, keep, &pos, skip, end, out);
            if (pos >= end) return;
        }
    }
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
    const __m512i sign = _mm512_set1_epi64((long long)(UINT64_C(1) << 63));
    table128_pd edges, nexts;           /* X[k], X[k + 1] */
    table128_pd_load(&edges, vi_zig_x_f64);
    table128_pd_load(&nexts, vi_zig_x_f64 + 1);
    heights_pd F;
    table128_pd_load(&F.f0, vi_zig_f_f64);
    table128_pd_load(&F.f1, vi_zig_f_f64 + 1);
    size_t pos = 0, end = skip + n;
    vi_lanes W;
    chains C;
    vi_wedge_lanes(L, &W);
    chains_init(&C, L);
    for (;;) {
        /* two rows per chain step, row r from chains (2r, 2r+1); two
         * vectors per row (lanes 0-7, 8-15) */
        __m512d x[2][2];
        __m512i w[2][2];
        __mmask8 fast[2][2], bits[2][2][3];
        for (int r = 0; r < 2; r++)
            for (int h = 0; h < 2; h++) {
                w[r][h] = draw64(&C, 2 * r, h);
                for (int b = 0; b < 3; b++)
                    bits[r][h][b] = _mm512_test_epi64_mask(w[r][h], _mm512_set1_epi64(16 << b));
                x[r][h] = _mm512_mul_pd(unit_f64(_mm512_srli_epi64(w[r][h], 11)),
                                        table128_pd_lookup(&edges, w[r][h], bits[r][h]));
                fast[r][h] = _mm512_cmp_pd_mask(x[r][h], table128_pd_lookup(&nexts, w[r][h], bits[r][h]),
                                                _CMP_LT_OQ);
            }
        chains_step(&C);
        for (int r = 0; r < 2; r++) {
            __m512d v[2];
            __mmask8 keep[2];
            for (int h = 0; h < 2; h++) {
                __mmask8 ok = fast[r][h] == 0xFF ? fast[r][h]
                                                 : slow_half_f64(&W, &F, h, fast[r][h], w[r][h], bits[r][h], &x[r][h]);
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

/* ---- uniform and exponential rejection (docs/stream.md 5.3, 5.4) ---------- */

/* float32: two draws per candidate, two rows per chain step (row r from
 * chains 2r, 2r+1). */
#define REJECTION_F32(NAME, CANDIDATE)                                       \
static void NAME(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p) \
{                                                                            \
    const __m512 lo = _mm512_set1_ps(p->lo_f), hi = _mm512_set1_ps(p->hi_f); \
    const __m512 base = _mm512_set1_ps(p->base_f), step = _mm512_set1_ps(p->step_f); \
    const __m512 width = _mm512_set1_ps(p->width_f), mean = _mm512_set1_ps(p->mean_f); \
    const __m512 scale = _mm512_set1_ps(p->scale_f), shift = _mm512_set1_ps(p->shift_f); \
    const __m512 half = _mm512_set1_ps(0.5f);                                \
    size_t pos = 0, end = skip + n;                                          \
    chains C;                                                                \
    chains_init(&C, L);                                                      \
    for (;;) {                                                               \
        __m512 v[2];                                                         \
        __mmask16 keep[2];                                                   \
        for (int r = 0; r < 2; r++) {                                        \
            __m512i d1 = draw32(&C, 2 * r), d2 = draw32(&C, 2 * r + 1);      \
            CANDIDATE(d1, d2, v[r], keep[r]);                                \
        }                                                                    \
        chains_step(&C);                                                     \
        for (int r = 0; r < 2; r++) {                                        \
            emit_row_f32(v[r], keep[r], &pos, skip, end, out);               \
            if (pos >= end) return;                                          \
        }                                                                    \
    }                                                                        \
}

/* float64: four draws per candidate (w1 from chains 0, 1; w2 from 2, 3),
 * one row per chain step, two vectors per row. */
#define REJECTION_F64(NAME, CANDIDATE)                                       \
static void NAME(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p) \
{                                                                            \
    const __m512d lo = _mm512_set1_pd(p->lo), hi = _mm512_set1_pd(p->hi);   \
    const __m512d base = _mm512_set1_pd(p->base), step = _mm512_set1_pd(p->step); \
    const __m512d width = _mm512_set1_pd(p->width), mean = _mm512_set1_pd(p->mean); \
    const __m512d scale = _mm512_set1_pd(p->scale), shift = _mm512_set1_pd(p->shift); \
    const __m512d half = _mm512_set1_pd(0.5);                                \
    size_t pos = 0, end = skip + n;                                          \
    chains C;                                                                \
    chains_init(&C, L);                                                      \
    for (;;) {                                                               \
        __m512d v[2];                                                        \
        __mmask8 keep[2];                                                    \
        for (int h = 0; h < 2; h++) {                                        \
            __m512i w1 = draw64(&C, 0, h), w2 = draw64(&C, 2, h);            \
            CANDIDATE(w1, w2, v[h], keep[h]);                                \
        }                                                                    \
        chains_step(&C);                                                     \
        emit_row_f64(v, keep, &pos, skip, end, out);                         \
        if (pos >= end) return;                                              \
    }                                                                        \
}

/* VT: the vector type; S: its intrinsic suffix (ps, pd). */
#define FLAT_CANDIDATE(VT, S, UNIT1, OPEN2, LOG, NEG, v_, keep_)             \
    do {                                                                     \
        VT x_ = _mm512_min_##S(_mm512_add_##S(lo, _mm512_mul_##S(UNIT1, width)), hi); \
        VT z_ = _mm512_mul_##S(_mm512_sub_##S(x_, mean), scale);             \
        VT q_ = _mm512_mul_##S(_mm512_sub_##S(_mm512_mul_##S(z_, z_), shift), half); \
        VT e_ = NEG(LOG(OPEN2));                                             \
        (void)base; (void)step;                                              \
        v_ = x_;                                                             \
        keep_ = _mm512_cmp_##S##_mask(q_, e_, _CMP_LT_OQ);                   \
    } while (0)
#define TAIL_CANDIDATE(VT, S, OPEN1, OPEN2, LOG, NEG, v_, keep_)             \
    do {                                                                     \
        VT t_ = _mm512_mul_##S(NEG(LOG(OPEN1)), scale);                      \
        VT x_ = _mm512_add_##S(base, _mm512_mul_##S(step, t_));              \
        VT d_ = _mm512_add_##S(t_, shift);                                   \
        VT e_ = NEG(LOG(OPEN2));                                             \
        (void)width; (void)mean;                                             \
        v_ = x_;                                                             \
        keep_ = _mm512_cmp_##S##_mask(_mm512_mul_##S(_mm512_mul_##S(d_, d_), half), e_, _CMP_LT_OQ) \
              & _mm512_cmp_##S##_mask(lo, x_, _CMP_LE_OQ) & _mm512_cmp_##S##_mask(x_, hi, _CMP_LE_OQ); \
    } while (0)

#define FLAT_F32(d1, d2, v_, keep_) FLAT_CANDIDATE(__m512, ps, unit_f32(d1), open_ps(d2), log_ps, neg_ps, v_, keep_)
#define TAIL_F32(d1, d2, v_, keep_) TAIL_CANDIDATE(__m512, ps, open_ps(d1), open_ps(d2), log_ps, neg_ps, v_, keep_)
#define FLAT_F64(w1, w2, v_, keep_) \
    FLAT_CANDIDATE(__m512d, pd, unit_f64(_mm512_srli_epi64(w1, 11)), open_pd(w2), log_pd, neg_pd, v_, keep_)
#define TAIL_F64(w1, w2, v_, keep_) TAIL_CANDIDATE(__m512d, pd, open_pd(w1), open_pd(w2), log_pd, neg_pd, v_, keep_)
REJECTION_F32(normal_flat_f32, FLAT_F32)
REJECTION_F32(normal_tail_f32, TAIL_F32)
REJECTION_F64(normal_flat_f64, FLAT_F64)
REJECTION_F64(normal_tail_f64, TAIL_F64)

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
