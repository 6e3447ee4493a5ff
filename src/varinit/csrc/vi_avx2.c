/* vi_avx2.c - the AVX2 kernels (x86-64-v3: AVX2, FMA, F16C, POPCNT).
 *
 * Compiled alone with -mavx2 -mfma -mf16c -mpopcnt (MSVC /arch:AVX2);
 * dispatch calls it only where the CPU and OS run it.  Every kernel writes
 * exactly the bits of the scalar reference (vi_scalar.c): the same IEEE
 * operations in the same order, one rounding each.  FMA is in the required
 * set only because every AVX2 CPU has it and x86-64-v3 includes it; no
 * kernel fuses a multiply-add (-ffp-contract=off, no _mm256_fmadd_*).
 *
 * Lanes: the 16 lane states sit in four registers of four 64-bit states.
 * AVX2 has no 64-bit multiply, so the LCG step uses three 32x32->64
 * multiplies (vpmuludq).  As in the AVX-512 file, four leapfrog chains
 * (chain c at draw d + c, jumping four draws per step) keep independent
 * multiplies in flight without changing a bit. */
#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>
#include "vi_rows.h"
#include "vi_normal.h"

/* ---- PCG32 lanes in registers ------------------------------------------ */

/* A 64-bit constant split for vpmuludq: low and high 32 bits per lane. */
typedef struct { __m256i lo, hi; } mul64c;

VI_INLINE mul64c mul64_const(uint64_t a)
{
    mul64c m = { _mm256_set1_epi64x((long long)(a & 0xFFFFFFFFu)),
                 _mm256_set1_epi64x((long long)(a >> 32)) };
    return m;
}

/* s * a mod 2^64 = lo(s)lo(a) + ((hi(s)lo(a) + lo(s)hi(a)) << 32). */
VI_INLINE __m256i mul64(__m256i s, mul64c a)
{
    __m256i ll = _mm256_mul_epu32(s, a.lo);
    __m256i hl = _mm256_mul_epu32(_mm256_srli_epi64(s, 32), a.lo);
    __m256i lh = _mm256_mul_epu32(s, a.hi);
    return _mm256_add_epi64(ll, _mm256_slli_epi64(_mm256_add_epi64(hl, lh), 32));
}

typedef struct {
    __m256i s[4][4];        /* chain c, lanes 4q..4q+3 */
    __m256i plus[4];        /* G4 * inc per lane */
    mul64c mult;            /* A4 = a^4 */
} chains;

VI_INLINE void chains_init(chains *C, const vi_lanes *L)
{
    uint64_t a4, g4;
    vi_lcg_jump(4, 1u, &a4, &g4);
    const mul64c a = mul64_const(VI_PCG32_MULT), g = mul64_const(g4);
    for (int q = 0; q < 4; q++) {
        __m256i inc = _mm256_loadu_si256((const __m256i *)(L->inc + 4 * q));
        C->s[0][q] = _mm256_loadu_si256((const __m256i *)(L->state + 4 * q));
        for (int c = 1; c < 4; c++) C->s[c][q] = _mm256_add_epi64(mul64(C->s[c - 1][q], a), inc);
        C->plus[q] = mul64(inc, g);
    }
    C->mult = mul64_const(a4);
}

VI_INLINE void chains_step(chains *C)
{
    for (int c = 0; c < 4; c++)
        for (int q = 0; q < 4; q++)
            C->s[c][q] = _mm256_add_epi64(mul64(C->s[c][q], C->mult), C->plus[q]);
}

/* x = ((old >> 18) ^ old) >> 27: xorshifted in the low dword of each 64-bit
 * lane, the rotation old >> 59 in the high dword. */
VI_INLINE __m256i pcg_x(__m256i old)
{
    return _mm256_srli_epi64(_mm256_xor_si256(_mm256_srli_epi64(old, 18), old), 27);
}

/* 32-bit rotate right of x by r (0..31); a count of 32 shifts in zeros. */
VI_INLINE __m256i rotr32(__m256i x, __m256i r)
{
    return _mm256_or_si256(_mm256_srlv_epi32(x, r),
                           _mm256_sllv_epi32(x, _mm256_sub_epi32(_mm256_set1_epi32(32), r)));
}

/* The outputs of chain c for lanes 8h..8h+7, packed in lane order. */
VI_INLINE __m256i draw32(const chains *C, int c, int h)
{
    __m256 a = _mm256_castsi256_ps(pcg_x(C->s[c][2 * h]));
    __m256 b = _mm256_castsi256_ps(pcg_x(C->s[c][2 * h + 1]));
    /* low dwords and high dwords of a and b: lanes 0 1 4 5 | 2 3 6 7 */
    __m256i xs = _mm256_castps_si256(_mm256_shuffle_ps(a, b, 0x88));
    __m256i rot = _mm256_castps_si256(_mm256_shuffle_ps(a, b, 0xDD));
    return _mm256_permute4x64_epi64(rotr32(xs, rot), 0xD8);
}

/* PCG32 output left in the low dword of each 64-bit lane (high: junk). */
VI_INLINE __m256i pcg_out64(__m256i old)
{
    __m256i x = pcg_x(old);
    return rotr32(x, _mm256_srli_epi64(x, 32));
}

/* w >> 11 of w = first << 32 | second, the draws of chains c, c+1, lanes 4q.. */
VI_INLINE __m256i draw53(const chains *C, int c, int q)
{
    __m256i first = _mm256_slli_epi64(pcg_out64(C->s[c][q]), 32);
    __m256i w = _mm256_blend_epi32(first, pcg_out64(C->s[c + 1][q]), 0x55);
    return _mm256_srli_epi64(w, 11);
}

/* ---- bit-to-float maps (vi_stream.h) ------------------------------------ */

VI_INLINE __m256 unit_f32(__m256i r)
{
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(r, 8)), _mm256_set1_ps(0x1p-24f));
}

/* The exact double of a 53-bit integer.  AVX2 has no 64-bit integer to
 * double conversion: each 32-bit half becomes a double exactly through
 * the 2^52 exponent trick, and hi * 2^32 + lo is exact because the sum is
 * an integer below 2^53. */
VI_INLINE __m256d u53_to_f64(__m256i w)
{
    const __m256i magic = _mm256_set1_epi64x(0x4330000000000000LL);
    const __m256d two52 = _mm256_set1_pd(0x1p52);
    __m256d lo = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(w, _mm256_set1_epi64x(0xFFFFFFFFLL)), magic)), two52);
    __m256d hi = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_or_si256(
        _mm256_srli_epi64(w, 32), magic)), two52);
    return _mm256_add_pd(_mm256_mul_pd(hi, _mm256_set1_pd(0x1p32)), lo);
}

VI_INLINE __m256d unit_f64(__m256i w53)
{
    return _mm256_mul_pd(u53_to_f64(w53), _mm256_set1_pd(0x1p-53));
}

/* ---- rows of a block ------------------------------------------------------ */

typedef struct { __m256i h[2]; } vec2i;
typedef struct { __m256 h[2]; } vec2f;
typedef struct { __m256d q[4]; } vec4d;

#define STORE_SI2(p, v) (_mm256_storeu_si256((__m256i *)(p), (v).h[0]), \
                         _mm256_storeu_si256((__m256i *)((p) + 8), (v).h[1]))
#define STORE_PS2(p, v) (_mm256_storeu_ps((p), (v).h[0]), _mm256_storeu_ps((p) + 8, (v).h[1]))
#define STORE_PD4(p, v) (_mm256_storeu_pd((p), (v).q[0]), _mm256_storeu_pd((p) + 4, (v).q[1]), \
                         _mm256_storeu_pd((p) + 8, (v).q[2]), _mm256_storeu_pd((p) + 12, (v).q[3]))

static void raw_u32(vi_lanes *L, size_t skip, size_t n, uint32_t *out)
{
#define RAW_ROW(c, v) ((v).h[0] = draw32(&C, (c), 0), (v).h[1] = draw32(&C, (c), 1))
    VI_ROW_LOOP(uint32_t, vec2i, STORE_SI2, 4, RAW_ROW);
}

/* min(top, v) is top only when top < v: the reference's `v > top ? top : v`.
 * When width * 2^-24 is a normal float, k * (width * 2^-24) is the same real
 * product as (k * 2^-24) * width and rounds to the same float: one multiply. */
static void uniform_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const __m256 base = _mm256_set1_ps(p->base_f), top = _mm256_set1_ps(p->top_f);
    const float scaled = p->width_f * 0x1p-24f;
    if (scaled >= 0x1p-126f) {
        const __m256 w = _mm256_set1_ps(scaled);
#define UNI_ROW_1(c, v) do { for (int h_ = 0; h_ < 2; h_++)                            \
        (v).h[h_] = _mm256_min_ps(top, _mm256_add_ps(base, _mm256_mul_ps(               \
            _mm256_cvtepi32_ps(_mm256_srli_epi32(draw32(&C, (c), h_), 8)), w))); } while (0)
        VI_ROW_LOOP(float, vec2f, STORE_PS2, 4, UNI_ROW_1);
    } else {
        const __m256 w = _mm256_set1_ps(p->width_f);
#define UNI_ROW_2(c, v) do { for (int h_ = 0; h_ < 2; h_++)                            \
        (v).h[h_] = _mm256_min_ps(top, _mm256_add_ps(base, _mm256_mul_ps(               \
            unit_f32(draw32(&C, (c), h_)), w))); } while (0)
        VI_ROW_LOOP(float, vec2f, STORE_PS2, 4, UNI_ROW_2);
    }
}

static void uniform_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    const __m256d base = _mm256_set1_pd(p->base), top = _mm256_set1_pd(p->top);
    const double scaled = p->width * 0x1p-53;
    if (scaled >= 0x1p-1022) {
        const __m256d w = _mm256_set1_pd(scaled);
#define UNI64_ROW_1(c, v) do { for (int q_ = 0; q_ < 4; q_++)                          \
        (v).q[q_] = _mm256_min_pd(top, _mm256_add_pd(base, _mm256_mul_pd(               \
            u53_to_f64(draw53(&C, 2 * (c), q_)), w))); } while (0)
        VI_ROW_LOOP(double, vec4d, STORE_PD4, 2, UNI64_ROW_1);
    } else {
        const __m256d w = _mm256_set1_pd(p->width);
#define UNI64_ROW_2(c, v) do { for (int q_ = 0; q_ < 4; q_++)                          \
        (v).q[q_] = _mm256_min_pd(top, _mm256_add_pd(base, _mm256_mul_pd(               \
            unit_f64(draw53(&C, 2 * (c), q_)), w))); } while (0)
        VI_ROW_LOOP(double, vec4d, STORE_PD4, 2, UNI64_ROW_2);
    }
}

/* ---- the normal family -------------------------------------------------- */

/* ---- the normal family (docs/stream.md 5) ---------------------------------- */

/* vi_log_f32 and vi_log_f64, lane-wise: the same operations in the same
 * order, so every lane rounds as the scalar reference does. */
VI_INLINE __m256 log_ps(__m256 s)
{
    const __m256 one = _mm256_set1_ps(1.0f);
    __m256i bits = _mm256_castps_si256(s);
    __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F800000)));
    __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
    m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
    e = _mm256_sub_epi32(e, _mm256_castps_si256(big));          /* all-ones = -1 */
    __m256 t = _mm256_div_ps(_mm256_sub_ps(m, one), _mm256_add_ps(m, one));
    __m256 t2 = _mm256_mul_ps(t, t), q = _mm256_set1_ps(vi_log_series_f32[0]);
    for (int k = 1; k < 5; k++)
        q = _mm256_add_ps(_mm256_mul_ps(q, t2), _mm256_set1_ps(vi_log_series_f32[k]));
    __m256 ef = _mm256_cvtepi32_ps(e);
    __m256 lo = _mm256_add_ps(_mm256_mul_ps(ef, _mm256_set1_ps(VI_LN2_LO_F32)),
                              _mm256_mul_ps(_mm256_add_ps(t, t), q));
    return _mm256_add_ps(lo, _mm256_mul_ps(ef, _mm256_set1_ps(VI_LN2_HI_F32)));
}

/* The exponent has at most 11 bits, so it converts exactly through the
 * 2^52 + 2^51 trick on its 64-bit lane (add the pattern, subtract). */
VI_INLINE __m256d log_pd(__m256d s)
{
    const __m256d one = _mm256_set1_pd(1.0), magic = _mm256_set1_pd(0x1.8p52);
    __m256i bits = _mm256_castpd_si256(s);
    __m256i e = _mm256_sub_epi64(_mm256_srli_epi64(bits, 52), _mm256_set1_epi64x(1023));
    __m256d m = _mm256_castsi256_pd(_mm256_or_si256(
        _mm256_and_si256(bits, _mm256_set1_epi64x(0x000FFFFFFFFFFFFFLL)),
        _mm256_set1_epi64x(0x3FF0000000000000LL)));
    __m256d big = _mm256_cmp_pd(m, _mm256_set1_pd(1.4142135623730951), _CMP_GT_OQ);
    m = _mm256_blendv_pd(m, _mm256_mul_pd(m, _mm256_set1_pd(0.5)), big);
    e = _mm256_sub_epi64(e, _mm256_castpd_si256(big));
    __m256d t = _mm256_div_pd(_mm256_sub_pd(m, one), _mm256_add_pd(m, one));
    __m256d t2 = _mm256_mul_pd(t, t), q = _mm256_set1_pd(vi_log_series_f64[0]);
    for (int k = 1; k < 12; k++)
        q = _mm256_add_pd(_mm256_mul_pd(q, t2), _mm256_set1_pd(vi_log_series_f64[k]));
    __m256d ef = _mm256_sub_pd(_mm256_castsi256_pd(_mm256_add_epi64(e, _mm256_castpd_si256(magic))), magic);
    __m256d lo = _mm256_add_pd(_mm256_mul_pd(ef, _mm256_set1_pd(VI_LN2_LO_F64)),
                               _mm256_mul_pd(_mm256_add_pd(t, t), q));
    return _mm256_add_pd(lo, _mm256_mul_pd(ef, _mm256_set1_pd(VI_LN2_HI_F64)));
}

/* (0, 1) maps of docs/stream.md 5.1, lane-wise.  (d >> 7) | 1 < 2^25 is a
 * positive int32; the 54-bit (w >> 10) | 1 converts as hi * 2^32 + lo, both
 * exact, with the one rounding of the scalar cast. */
VI_INLINE __m256 open_ps(__m256i d)
{
    __m256i j = _mm256_or_si256(_mm256_srli_epi32(d, 7), _mm256_set1_epi32(1));
    return _mm256_mul_ps(_mm256_cvtepi32_ps(j), _mm256_set1_ps(0x1p-25f));
}

VI_INLINE __m256d open_pd(__m256i w)
{
    __m256i j = _mm256_or_si256(_mm256_srli_epi64(w, 10), _mm256_set1_epi64x(1));
    return _mm256_mul_pd(u53_to_f64(j), _mm256_set1_pd(0x1p-54));
}

VI_INLINE __m256 neg_ps(__m256 x) { return _mm256_xor_ps(x, _mm256_set1_ps(-0.0f)); }
VI_INLINE __m256d neg_pd(__m256d x) { return _mm256_xor_pd(x, _mm256_set1_pd(-0.0)); }

/* 64 bits per candidate, lanes 4q..4q+3: w = first << 32 | second from
 * chains (c, c+1). */
VI_INLINE __m256i draw64(const chains *C, int c, int q)
{
    __m256i first = _mm256_slli_epi64(pcg_out64(C->s[c][q]), 32);
    return _mm256_blend_epi32(first, pcg_out64(C->s[c + 1][q]), 0x55);
}

/* The main candidates of each row in the vector unit; the positions needing
 * a fixup are finished afterwards by the scalar reference's fixups. */

VI_INLINE void ziggurat_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p,
                            const vi_zig_f32 *Z)
{
    const __m256 mean = _mm256_set1_ps(p->mean_f), stddev = _mm256_set1_ps(p->stddev_f);
    const __m256 lo = _mm256_set1_ps(p->lo_f), hi = _mm256_set1_ps(p->hi_f);
    const __m256i layer = _mm256_set1_epi32(127), sign = _mm256_set1_epi32((int)0x80000000u);
    fix_rows F;
    uint32_t words[VI_BLOCK], pos[VI_BLOCK];
    F.first = skip / VI_LANES;
#define ZIG_ROW(c, v) do {                                                   \
        size_t row_ = t_ + (c);                                              \
        unsigned ok_ = 0;                                                    \
        for (int h_ = 0; h_ < 2; h_++) {                                     \
            __m256i d_ = draw32(&C, (c), h_), k_ = _mm256_and_si256(d_, layer); \
            __m256 x_ = _mm256_mul_ps(unit_f32(d_), _mm256_i32gather_ps(Z->x, k_, 4)); \
            __m256 fast_ = _mm256_cmp_ps(x_, _mm256_i32gather_ps(Z->x + 1, k_, 4), _CMP_LT_OQ); \
            __m256 z_ = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(x_), \
                _mm256_and_si256(_mm256_slli_epi32(d_, 24), sign)));          \
            __m256 val_ = _mm256_add_ps(mean, _mm256_mul_ps(stddev, z_));      \
            __m256 in_ = _mm256_and_ps(_mm256_cmp_ps(lo, val_, _CMP_LE_OQ), _mm256_cmp_ps(val_, hi, _CMP_LE_OQ)); \
            (v).h[h_] = val_;                                                  \
            ok_ |= (unsigned)_mm256_movemask_ps(_mm256_and_ps(fast_, in_)) << (8 * h_); \
            if (row_ < t_end_)                                               \
                _mm256_storeu_si256((__m256i *)(words + (row_ - F.first) * VI_LANES + 8 * h_), d_); \
        }                                                                    \
        if (row_ < t_end_) F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
    } while (0)
    VI_ROW_LOOP(float, vec2f, STORE_PS2, 4, ZIG_ROW);
    size_t count = fix_list(&F, (skip + n + VI_LANES - 1) / VI_LANES - F.first, pos);
    for (size_t i = 0; i < count; i++)
        out[pos[i] - skip] = vi_zig_fixup_f32(Z, L->key, pos[i], words[pos[i] - F.first * VI_LANES], p);
}

VI_INLINE void ziggurat_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p,
                            const vi_zig_f64 *Z)
{
    const __m256d mean = _mm256_set1_pd(p->mean), stddev = _mm256_set1_pd(p->stddev);
    const __m256d lo = _mm256_set1_pd(p->lo), hi = _mm256_set1_pd(p->hi);
    const __m256i layer = _mm256_set1_epi64x(127), sign = _mm256_set1_epi64x((long long)(UINT64_C(1) << 63));
    fix_rows F;
    uint64_t words[VI_BLOCK];
    uint32_t pos[VI_BLOCK];
    F.first = skip / VI_LANES;
#define ZIG64_ROW(c, v) do {                                                 \
        size_t row_ = t_ + (c);                                              \
        unsigned ok_ = 0;                                                    \
        for (int q_ = 0; q_ < 4; q_++) {                                     \
            __m256i w_ = draw64(&C, 2 * (c), q_), k_ = _mm256_and_si256(w_, layer); \
            __m256d x_ = _mm256_mul_pd(unit_f64(_mm256_srli_epi64(w_, 11)),  \
                                       _mm256_i64gather_pd(Z->x, k_, 8)); \
            __m256d fast_ = _mm256_cmp_pd(x_, _mm256_i64gather_pd(Z->x + 1, k_, 8), _CMP_LT_OQ); \
            __m256d z_ = _mm256_castsi256_pd(_mm256_xor_si256(_mm256_castpd_si256(x_), \
                _mm256_and_si256(_mm256_slli_epi64(w_, 56), sign)));          \
            __m256d val_ = _mm256_add_pd(mean, _mm256_mul_pd(stddev, z_));     \
            __m256d in_ = _mm256_and_pd(_mm256_cmp_pd(lo, val_, _CMP_LE_OQ), _mm256_cmp_pd(val_, hi, _CMP_LE_OQ)); \
            (v).q[q_] = val_;                                                  \
            ok_ |= (unsigned)_mm256_movemask_pd(_mm256_and_pd(fast_, in_)) << (4 * q_); \
            if (row_ < t_end_)                                               \
                _mm256_storeu_si256((__m256i *)(words + (row_ - F.first) * VI_LANES + 4 * q_), w_); \
        }                                                                    \
        if (row_ < t_end_) F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
    } while (0)
    VI_ROW_LOOP(double, vec4d, STORE_PD4, 2, ZIG64_ROW);
    size_t count = fix_list(&F, (skip + n + VI_LANES - 1) / VI_LANES - F.first, pos);
    for (size_t i = 0; i < count; i++)
        out[pos[i] - skip] = vi_zig_fixup_f64(Z, L->key, pos[i], words[pos[i] - F.first * VI_LANES], p);
}

VI_ZIGGURAT_SLOTS_FROM(ziggurat_f32, ziggurat_f64)

/* ---- uniform and exponential rejection (docs/stream.md 5.3, 5.4) ---------- */

typedef struct { __m256 lo, hi, base, step, width, mean, scale, shift, cut; } rej_ps;
typedef struct { __m256d lo, hi, base, step, width, mean, scale, shift, cut; } rej_pd;

VI_INLINE void rej_ps_load(rej_ps *K, const vi_params *p)
{
    K->lo = _mm256_set1_ps(p->lo_f); K->hi = _mm256_set1_ps(p->hi_f);
    K->base = _mm256_set1_ps(p->base_f); K->step = _mm256_set1_ps(p->step_f);
    K->width = _mm256_set1_ps(p->width_f); K->mean = _mm256_set1_ps(p->mean_f);
    K->scale = _mm256_set1_ps(p->scale_f); K->shift = _mm256_set1_ps(p->shift_f);
    K->cut = _mm256_set1_ps(p->cut_f);
}

VI_INLINE void rej_pd_load(rej_pd *K, const vi_params *p)
{
    K->lo = _mm256_set1_pd(p->lo); K->hi = _mm256_set1_pd(p->hi);
    K->base = _mm256_set1_pd(p->base); K->step = _mm256_set1_pd(p->step);
    K->width = _mm256_set1_pd(p->width); K->mean = _mm256_set1_pd(p->mean);
    K->scale = _mm256_set1_pd(p->scale); K->shift = _mm256_set1_pd(p->shift);
    K->cut = _mm256_set1_pd(p->cut);
}

/* vi_flat_* / vi_tail_* lane-wise: the candidate *v and the accepted lanes
 * (a movemask). */
VI_INLINE unsigned flat_ps(const rej_ps *K, __m256i d1, __m256i d2, __m256 *v)
{
    __m256 x = _mm256_min_ps(_mm256_add_ps(K->lo, _mm256_mul_ps(unit_f32(d1), K->width)), K->hi);
    __m256 z = _mm256_mul_ps(_mm256_sub_ps(x, K->mean), K->scale);
    __m256 q = _mm256_mul_ps(_mm256_sub_ps(_mm256_mul_ps(z, z), K->shift), _mm256_set1_ps(0.5f));
    *v = x;
    return (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(q, neg_ps(log_ps(open_ps(d2))), _CMP_LT_OQ));
}

VI_INLINE unsigned tail_ps(const rej_ps *K, __m256i d1, __m256i d2, __m256 *v)
{
    __m256 t = _mm256_mul_ps(neg_ps(log_ps(_mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_mul_ps(unit_f32(d1), K->cut)))), K->scale);
    __m256 x = _mm256_add_ps(K->base, _mm256_mul_ps(K->step, t));
    __m256 d = _mm256_add_ps(t, K->shift);
    __m256 e = neg_ps(log_ps(open_ps(d2)));
    *v = x;
    __m256 ok = _mm256_and_ps(_mm256_cmp_ps(_mm256_mul_ps(_mm256_mul_ps(d, d), _mm256_set1_ps(0.5f)), e, _CMP_LT_OQ),
                              _mm256_and_ps(_mm256_cmp_ps(K->lo, x, _CMP_LE_OQ), _mm256_cmp_ps(x, K->hi, _CMP_LE_OQ)));
    return (unsigned)_mm256_movemask_ps(ok);
}

VI_INLINE unsigned flat_pd(const rej_pd *K, __m256i w1, __m256i w2, __m256d *v)
{
    __m256d x = _mm256_min_pd(_mm256_add_pd(K->lo, _mm256_mul_pd(unit_f64(_mm256_srli_epi64(w1, 11)), K->width)), K->hi);
    __m256d z = _mm256_mul_pd(_mm256_sub_pd(x, K->mean), K->scale);
    __m256d q = _mm256_mul_pd(_mm256_sub_pd(_mm256_mul_pd(z, z), K->shift), _mm256_set1_pd(0.5));
    *v = x;
    return (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(q, neg_pd(log_pd(open_pd(w2))), _CMP_LT_OQ));
}

VI_INLINE unsigned tail_pd(const rej_pd *K, __m256i w1, __m256i w2, __m256d *v)
{
    __m256d t = _mm256_mul_pd(neg_pd(log_pd(_mm256_sub_pd(_mm256_set1_pd(1.0), _mm256_mul_pd(unit_f64(_mm256_srli_epi64(w1, 11)), K->cut)))), K->scale);
    __m256d x = _mm256_add_pd(K->base, _mm256_mul_pd(K->step, t));
    __m256d d = _mm256_add_pd(t, K->shift);
    __m256d e = neg_pd(log_pd(open_pd(w2)));
    *v = x;
    __m256d ok = _mm256_and_pd(_mm256_cmp_pd(_mm256_mul_pd(_mm256_mul_pd(d, d), _mm256_set1_pd(0.5)), e, _CMP_LT_OQ),
                               _mm256_and_pd(_mm256_cmp_pd(K->lo, x, _CMP_LE_OQ), _mm256_cmp_pd(x, K->hi, _CMP_LE_OQ)));
    return (unsigned)_mm256_movemask_pd(ok);
}

/* float32: row c of a chain step from chains 2c, 2c+1, two halves;
 * float64: one row per step, words from chains (0, 1) and (2, 3), four
 * quarters. */
#define CANDIDATE_ROW_PS(CANDIDATE, c, v) do {                               \
        size_t row_ = t_ + (c);                                              \
        unsigned ok_ = 0;                                                    \
        for (int h_ = 0; h_ < 2; h_++)                                       \
            ok_ |= CANDIDATE(&K, draw32(&C, 2 * (c), h_), draw32(&C, 2 * (c) + 1, h_), &(v).h[h_]) << (8 * h_); \
        if (row_ < t_end_) F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
    } while (0)
#define CANDIDATE_ROW_PD(CANDIDATE, c, v) do {                               \
        size_t row_ = t_ + (c);                                              \
        unsigned ok_ = 0;                                                    \
        for (int q_ = 0; q_ < 4; q_++)                                       \
            ok_ |= CANDIDATE(&K, draw64(&C, 0, q_), draw64(&C, 2, q_), &(v).q[q_]) << (4 * q_); \
        if (row_ < t_end_) F.need[row_ - F.first] = (uint16_t)(~ok_ & row_range(row_, skip, end_)); \
    } while (0)
#define FLAT_ROW_PS(c, v) CANDIDATE_ROW_PS(flat_ps, c, v)
#define TAIL_ROW_PS(c, v) CANDIDATE_ROW_PS(tail_ps, c, v)
#define FLAT_ROW_PD(c, v) CANDIDATE_ROW_PD(flat_pd, c, v)
#define TAIL_ROW_PD(c, v) CANDIDATE_ROW_PD(tail_pd, c, v)

#define CANDIDATE_KERNEL(NAME, T, VEC, STORE, R, KT, LOAD, ROW, FIXUP)       \
static void NAME(vi_lanes *L, size_t skip, size_t n, T *out, const vi_params *p) \
{                                                                            \
    KT K;                                                                    \
    fix_rows F;                                                              \
    uint32_t pos[VI_BLOCK];                                                  \
    LOAD(&K, p);                                                             \
    F.first = skip / VI_LANES;                                               \
    VI_ROW_LOOP(T, VEC, STORE, R, ROW);                                      \
    size_t count = fix_list(&F, (skip + n + VI_LANES - 1) / VI_LANES - F.first, pos); \
    for (size_t i = 0; i < count; i++) out[pos[i] - skip] = FIXUP(L->key, pos[i], p); \
}
CANDIDATE_KERNEL(normal_flat_f32, float, vec2f, STORE_PS2, 2, rej_ps, rej_ps_load, FLAT_ROW_PS, vi_flat_fixup_f32)
CANDIDATE_KERNEL(normal_tail_f32, float, vec2f, STORE_PS2, 2, rej_ps, rej_ps_load, TAIL_ROW_PS, vi_tail_fixup_f32)
CANDIDATE_KERNEL(normal_flat_f64, double, vec4d, STORE_PD4, 1, rej_pd, rej_pd_load, FLAT_ROW_PD, vi_flat_fixup_f64)
CANDIDATE_KERNEL(normal_tail_f64, double, vec4d, STORE_PD4, 1, rej_pd, rej_pd_load, TAIL_ROW_PD, vi_tail_fixup_f64)

/* ---- float16 / bfloat16 ---------------------------------------------------- */

/* Clamp 16 half-width patterns to [blo, bhi] in value order: the key of a
 * sign-magnitude pattern is +-magnitude (vi_half_key). */
VI_INLINE __m256i clamp_halves(__m256i h, __m256i klo, __m256i khi, __m256i blo, __m256i bhi)
{
    __m256i neg = _mm256_srai_epi16(h, 15);
    __m256i key = _mm256_sub_epi16(_mm256_xor_si256(_mm256_and_si256(h, _mm256_set1_epi16(0x7FFF)), neg), neg);
    h = _mm256_blendv_epi8(h, blo, _mm256_cmpgt_epi16(klo, key));
    return _mm256_blendv_epi8(h, bhi, _mm256_cmpgt_epi16(key, khi));
}

/* float16: vcvtps2ph (F16C) with round-to-nearest-even is vi_f32_to_f16. */
VI_INLINE __m256i to_f16(const float *in)
{
#define RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)   /* an immediate */
    __m128i a = _mm256_cvtps_ph(_mm256_loadu_ps(in), RNE);
    __m128i b = _mm256_cvtps_ph(_mm256_loadu_ps(in + 8), RNE);
    return _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);
}

/* bfloat16: integer round to nearest even of the pattern (vi_f32_to_bf16). */
VI_INLINE __m256i bf16_bits32(const float *in)
{
    __m256i u = _mm256_castps_si256(_mm256_loadu_ps(in));
    __m256i odd = _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
    u = _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7FFF)), odd);
    return _mm256_srli_epi32(u, 16);
}

VI_INLINE __m256i to_bf16(const float *in)
{
    /* packus interleaves 128-bit halves; the permute restores order */
    __m256i h = _mm256_packus_epi32(bf16_bits32(in), bf16_bits32(in + 8));
    return _mm256_permute4x64_epi64(h, 0xD8);
}

/* 16 values per step; the tail (< 16) goes through the scalar reference. */
#define NARROW_KERNEL(NAME, CONVERT, SCALAR)                                 \
static void NAME(const float *in, size_t n, uint16_t *out, const vi_params *p) \
{                                                                            \
    const __m256i klo = _mm256_set1_epi16((int16_t)vi_half_key(p->clamp_lo));           \
    const __m256i khi = _mm256_set1_epi16((int16_t)vi_half_key(p->clamp_hi));           \
    const __m256i blo = _mm256_set1_epi16((short)p->clamp_lo);              \
    const __m256i bhi = _mm256_set1_epi16((short)p->clamp_hi);              \
    size_t i = 0;                                                            \
    for (; i + 16 <= n; i += 16)                                             \
        _mm256_storeu_si256((__m256i *)(out + i),                            \
                            clamp_halves(CONVERT(in + i), klo, khi, blo, bhi)); \
    if (i < n) SCALAR(in + i, n - i, out + i, p);          \
}

NARROW_KERNEL(narrow_f16, to_f16, vi_scalar_narrow_f16)
NARROW_KERNEL(narrow_bf16, to_bf16, vi_scalar_narrow_bf16)

VI_STANDARD_SLOTS(narrow_f16, narrow_bf16)

const vi_kernel_table vi_kernels_avx2 = VI_STANDARD_TABLE("avx2", vi_block_lanes);

#else
typedef int vi_avx2_not_built;      /* ISO C: no empty translation unit */
#endif /* x86-64 */
