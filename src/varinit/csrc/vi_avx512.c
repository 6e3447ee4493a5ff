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

/* ((r >> 8) << 1) | 1 is (r >> 7) | 1: one shift fewer, the same integer. */
VI_INLINE __m512 signed_f32(__m512i r)
{
    __m512i k = _mm512_or_si512(_mm512_srli_epi32(r, 7), _mm512_set1_epi32(1));
    k = _mm512_sub_epi32(k, _mm512_set1_epi32(0x1000000));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(k), _mm512_set1_ps(0x1p-24f));
}

VI_INLINE __m512d signed_f64(__m512i w53)
{
    __m512i k = _mm512_or_si512(_mm512_slli_epi64(w53, 1), _mm512_set1_epi64(1));
    k = _mm512_sub_epi64(k, _mm512_set1_epi64((long long)(UINT64_C(1) << 53)));
    return _mm512_mul_pd(_mm512_cvtepi64_pd(k), _mm512_set1_pd(0x1p-53));
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

/* ---- Marsaglia polar with rejection -------------------------------------- */

/* vi_log_f32, lane-wise, same operations in the same order, on NR
 * independent vectors in lockstep: a row's polar arithmetic is one long
 * dependency chain (divide, divide, square root), and interleaving rows
 * step by step is what lets the out-of-order core overlap them. */
#define NR 4
VI_INLINE void log_f32(__m512 r[NR], const __m512 s[NR])
{
    __m512i e[NR];
    __m512 m[NR], t[NR], t2[NR], q[NR], ef[NR];
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int i = 0; i < NR; i++) {
        __m512i bits = _mm512_castps_si512(s[i]);
        e[i] = _mm512_sub_epi32(_mm512_srli_epi32(bits, 23), _mm512_set1_epi32(127));
        m[i] = _mm512_castsi512_ps(_mm512_or_si512(
            _mm512_and_si512(bits, _mm512_set1_epi32(0x007FFFFF)), _mm512_set1_epi32(0x3F800000)));
    }
    for (int i = 0; i < NR; i++) {
        __mmask16 big = _mm512_cmp_ps_mask(m[i], _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
        m[i] = _mm512_mask_mul_ps(m[i], big, m[i], _mm512_set1_ps(0.5f));
        e[i] = _mm512_mask_add_epi32(e[i], big, e[i], _mm512_set1_epi32(1));
    }
    for (int i = 0; i < NR; i++) t[i] = _mm512_div_ps(_mm512_sub_ps(m[i], one), _mm512_add_ps(m[i], one));
    for (int i = 0; i < NR; i++) { t2[i] = _mm512_mul_ps(t[i], t[i]); q[i] = _mm512_set1_ps(vi_log_series_f32[0]); }
    for (int k = 1; k < 5; k++)
        for (int i = 0; i < NR; i++)
            q[i] = _mm512_add_ps(_mm512_mul_ps(q[i], t2[i]), _mm512_set1_ps(vi_log_series_f32[k]));
    for (int i = 0; i < NR; i++) {
        ef[i] = _mm512_cvtepi32_ps(e[i]);
        __m512 a = _mm512_add_ps(_mm512_mul_ps(ef[i], _mm512_set1_ps(VI_LN2_LO_F32)),
                                 _mm512_mul_ps(_mm512_add_ps(t[i], t[i]), q[i]));
        r[i] = _mm512_add_ps(a, _mm512_mul_ps(ef[i], _mm512_set1_ps(VI_LN2_HI_F32)));
    }
}

/* vi_log_f64 on NR vectors in lockstep (see log_f32). */
VI_INLINE void log_f64(__m512d r[NR], const __m512d s[NR])
{
    __m512i e[NR];
    __m512d m[NR], t[NR], t2[NR], q[NR];
    const __m512d one = _mm512_set1_pd(1.0);
    for (int i = 0; i < NR; i++) {
        __m512i bits = _mm512_castpd_si512(s[i]);
        e[i] = _mm512_sub_epi64(_mm512_srli_epi64(bits, 52), _mm512_set1_epi64(1023));
        m[i] = _mm512_castsi512_pd(_mm512_or_si512(
            _mm512_and_si512(bits, _mm512_set1_epi64(0x000FFFFFFFFFFFFFLL)),
            _mm512_set1_epi64(0x3FF0000000000000LL)));
    }
    for (int i = 0; i < NR; i++) {
        __mmask8 big = _mm512_cmp_pd_mask(m[i], _mm512_set1_pd(1.4142135623730951), _CMP_GT_OQ);
        m[i] = _mm512_mask_mul_pd(m[i], big, m[i], _mm512_set1_pd(0.5));
        e[i] = _mm512_mask_add_epi64(e[i], big, e[i], _mm512_set1_epi64(1));
    }
    for (int i = 0; i < NR; i++) t[i] = _mm512_div_pd(_mm512_sub_pd(m[i], one), _mm512_add_pd(m[i], one));
    for (int i = 0; i < NR; i++) { t2[i] = _mm512_mul_pd(t[i], t[i]); q[i] = _mm512_set1_pd(vi_log_series_f64[0]); }
    for (int k = 1; k < 12; k++)
        for (int i = 0; i < NR; i++)
            q[i] = _mm512_add_pd(_mm512_mul_pd(q[i], t2[i]), _mm512_set1_pd(vi_log_series_f64[k]));
    for (int i = 0; i < NR; i++) {
        __m512d ef = _mm512_cvtepi64_pd(e[i]);
        __m512d a = _mm512_add_pd(_mm512_mul_pd(ef, _mm512_set1_pd(VI_LN2_LO_F64)),
                                  _mm512_mul_pd(_mm512_add_pd(t[i], t[i]), q[i]));
        r[i] = _mm512_add_pd(a, _mm512_mul_pd(ef, _mm512_set1_pd(VI_LN2_HI_F64)));
    }
}

/* Outputs of one row are the accepted x in lane order, then the accepted y.
 * Compression happens in registers (the memory form of vcompress is
 * microcoded on Zen 4, about 4x slower), followed by full-width stores that
 * spill garbage past the accepted values.  That garbage is overwritten by
 * the next outputs, so full-width stores are used only while a whole row's
 * worst case (2 x 16 values) still fits below `end`; rows before `skip` or
 * near the end go through a buffer.  Merge-masking the compress into its
 * own source avoids Zen 4's false dependency on a zeroed destination. */
VI_INLINE void emit_polar_f32(__m512 x, __mmask16 mx, __m512 y, __mmask16 my,
                              size_t *pos, size_t skip, size_t end, float *out)
{
    int nx = vi_popcount32(mx), ny = vi_popcount32(my);
    __m512 cx = _mm512_mask_compress_ps(x, mx, x), cy = _mm512_mask_compress_ps(y, my, y);
    if (*pos >= skip && *pos + 2 * VI_LANES <= end) {
        _mm512_storeu_ps(out + (*pos - skip), cx);
        _mm512_storeu_ps(out + (*pos - skip) + nx, cy);
        *pos += (size_t)(nx + ny);
        return;
    }
    float tmp[2 * VI_LANES];
    _mm512_storeu_ps(tmp, cx);
    _mm512_storeu_ps(tmp + nx, cy);
    VI_EMIT_COMPACTED(tmp, nx + ny, pos, skip, end, out);
}

static void normal_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const __m512 mean = _mm512_set1_ps(p->mean_f), stddev = _mm512_set1_ps(p->stddev_f);
    const __m512 lo = _mm512_set1_ps(p->lo_f), hi = _mm512_set1_ps(p->hi_f);
    const __m512 one = _mm512_set1_ps(1.0f), minus2 = _mm512_set1_ps(-2.0f);
    size_t pos = 0, end = skip + n;
    chains C;
    chains_init(&C, L);
    for (;;) {
        /* NR rows; row i takes (u, v) from chains (2(i%2), 2(i%2)+1), stepping
         * the chains after every second row */
        __m512 u[NR], v[NR], s[NR], lg[NR], x[NR], y[NR];
        __mmask16 mx[NR], my[NR];
        for (int i = 0; i < NR; i++) {
            u[i] = signed_f32(draw32(&C, 2 * (i & 1)));
            v[i] = signed_f32(draw32(&C, 2 * (i & 1) + 1));
            if (i & 1) chains_step(&C);
        }
        for (int i = 0; i < NR; i++) s[i] = _mm512_add_ps(_mm512_mul_ps(u[i], u[i]), _mm512_mul_ps(v[i], v[i]));
        log_f32(lg, s);
        for (int i = 0; i < NR; i++) {
            __mmask16 acc = _mm512_cmp_ps_mask(s[i], one, _CMP_LT_OQ);
            __m512 f = _mm512_sqrt_ps(_mm512_div_ps(_mm512_mul_ps(minus2, lg[i]), s[i]));
            x[i] = _mm512_add_ps(mean, _mm512_mul_ps(stddev, _mm512_mul_ps(u[i], f)));
            y[i] = _mm512_add_ps(mean, _mm512_mul_ps(stddev, _mm512_mul_ps(v[i], f)));
            mx[i] = acc & _mm512_cmp_ps_mask(lo, x[i], _CMP_LE_OQ) & _mm512_cmp_ps_mask(x[i], hi, _CMP_LE_OQ);
            my[i] = acc & _mm512_cmp_ps_mask(lo, y[i], _CMP_LE_OQ) & _mm512_cmp_ps_mask(y[i], hi, _CMP_LE_OQ);
        }
        for (int i = 0; i < NR; i++) {
            emit_polar_f32(x[i], mx[i], y[i], my[i], &pos, skip, end, out);
            if (pos >= end) return;
        }
    }
}

VI_INLINE void emit_polar_f64(const __m512d x[2], const __mmask8 mx[2],
                              const __m512d y[2], const __mmask8 my[2],
                              size_t *pos, size_t skip, size_t end, double *out)
{
    int n[4] = { vi_popcount32(mx[0]), vi_popcount32(mx[1]), vi_popcount32(my[0]), vi_popcount32(my[1]) };
    __m512d c[4] = { _mm512_mask_compress_pd(x[0], mx[0], x[0]), _mm512_mask_compress_pd(x[1], mx[1], x[1]),
                     _mm512_mask_compress_pd(y[0], my[0], y[0]), _mm512_mask_compress_pd(y[1], my[1], y[1]) };
    if (*pos >= skip && *pos + 2 * VI_LANES <= end) {
        double *dst = out + (*pos - skip);
        for (int k = 0; k < 4; k++) { _mm512_storeu_pd(dst, c[k]); dst += n[k]; }
        *pos += (size_t)(n[0] + n[1] + n[2] + n[3]);
        return;
    }
    double tmp[2 * VI_LANES + 8];
    int len = 0;
    for (int k = 0; k < 4; k++) { _mm512_storeu_pd(tmp + len, c[k]); len += n[k]; }
    VI_EMIT_COMPACTED(tmp, len, pos, skip, end, out);
}

static void normal_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    const __m512d mean = _mm512_set1_pd(p->mean), stddev = _mm512_set1_pd(p->stddev);
    const __m512d lo = _mm512_set1_pd(p->lo), hi = _mm512_set1_pd(p->hi);
    const __m512d one = _mm512_set1_pd(1.0), minus2 = _mm512_set1_pd(-2.0);
    size_t pos = 0, end = skip + n;
    chains C;
    chains_init(&C, L);
    for (;;) {
        /* NR/2 rows of two vectors (lanes 0-7, 8-15); a row takes u from
         * chains 0,1 and v from chains 2,3, then the chains step */
        __m512d u[NR], v[NR], s[NR], lg[NR], x[NR], y[NR];
        __mmask8 mx[NR], my[NR];
        for (int i = 0; i < NR; i++) {
            u[i] = signed_f64(draw53(&C, 0, i & 1));
            v[i] = signed_f64(draw53(&C, 2, i & 1));
            if (i & 1) chains_step(&C);
        }
        for (int i = 0; i < NR; i++) s[i] = _mm512_add_pd(_mm512_mul_pd(u[i], u[i]), _mm512_mul_pd(v[i], v[i]));
        log_f64(lg, s);
        for (int i = 0; i < NR; i++) {
            __mmask8 acc = _mm512_cmp_pd_mask(s[i], one, _CMP_LT_OQ);
            __m512d f = _mm512_sqrt_pd(_mm512_div_pd(_mm512_mul_pd(minus2, lg[i]), s[i]));
            x[i] = _mm512_add_pd(mean, _mm512_mul_pd(stddev, _mm512_mul_pd(u[i], f)));
            y[i] = _mm512_add_pd(mean, _mm512_mul_pd(stddev, _mm512_mul_pd(v[i], f)));
            mx[i] = acc & _mm512_cmp_pd_mask(lo, x[i], _CMP_LE_OQ) & _mm512_cmp_pd_mask(x[i], hi, _CMP_LE_OQ);
            my[i] = acc & _mm512_cmp_pd_mask(lo, y[i], _CMP_LE_OQ) & _mm512_cmp_pd_mask(y[i], hi, _CMP_LE_OQ);
        }
        for (int i = 0; i < NR; i += 2) {
            emit_polar_f64(x + i, mx + i, y + i, my + i, &pos, skip, end, out);
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
    const uint64_t key = vi_splitmix64_at(vi_splitmix64_at(seed, 1u), block + 1u);
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
}

VI_STANDARD_SLOTS(narrow_f16, narrow_bf16)

const vi_kernel_table vi_kernels_avx512 = VI_STANDARD_TABLE("avx512", block_lanes);

#else
typedef int vi_avx512_not_built;   /* ISO C: no empty translation unit */
#endif /* x86-64 */
