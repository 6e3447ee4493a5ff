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

/* Left-packing permutations for vpermps: entry m lists, 3 bits each, the
 * set bits of the 8-bit mask m in order (compress8), or the dword pairs of
 * the set bits of a 4-bit mask of doubles (compress4). */
static const uint32_t compress8[256] = {
    0x000000, 0x000000, 0x000001, 0x000008, 0x000002, 0x000010, 0x000011, 0x000088,
    0x000003, 0x000018, 0x000019, 0x0000C8, 0x00001A, 0x0000D0, 0x0000D1, 0x000688,
    0x000004, 0x000020, 0x000021, 0x000108, 0x000022, 0x000110, 0x000111, 0x000888,
    0x000023, 0x000118, 0x000119, 0x0008C8, 0x00011A, 0x0008D0, 0x0008D1, 0x004688,
    0x000005, 0x000028, 0x000029, 0x000148, 0x00002A, 0x000150, 0x000151, 0x000A88,
    0x00002B, 0x000158, 0x000159, 0x000AC8, 0x00015A, 0x000AD0, 0x000AD1, 0x005688,
    0x00002C, 0x000160, 0x000161, 0x000B08, 0x000162, 0x000B10, 0x000B11, 0x005888,
    0x000163, 0x000B18, 0x000B19, 0x0058C8, 0x000B1A, 0x0058D0, 0x0058D1, 0x02C688,
    0x000006, 0x000030, 0x000031, 0x000188, 0x000032, 0x000190, 0x000191, 0x000C88,
    0x000033, 0x000198, 0x000199, 0x000CC8, 0x00019A, 0x000CD0, 0x000CD1, 0x006688,
    0x000034, 0x0001A0, 0x0001A1, 0x000D08, 0x0001A2, 0x000D10, 0x000D11, 0x006888,
    0x0001A3, 0x000D18, 0x000D19, 0x0068C8, 0x000D1A, 0x0068D0, 0x0068D1, 0x034688,
    0x000035, 0x0001A8, 0x0001A9, 0x000D48, 0x0001AA, 0x000D50, 0x000D51, 0x006A88,
    0x0001AB, 0x000D58, 0x000D59, 0x006AC8, 0x000D5A, 0x006AD0, 0x006AD1, 0x035688,
    0x0001AC, 0x000D60, 0x000D61, 0x006B08, 0x000D62, 0x006B10, 0x006B11, 0x035888,
    0x000D63, 0x006B18, 0x006B19, 0x0358C8, 0x006B1A, 0x0358D0, 0x0358D1, 0x1AC688,
    0x000007, 0x000038, 0x000039, 0x0001C8, 0x00003A, 0x0001D0, 0x0001D1, 0x000E88,
    0x00003B, 0x0001D8, 0x0001D9, 0x000EC8, 0x0001DA, 0x000ED0, 0x000ED1, 0x007688,
    0x00003C, 0x0001E0, 0x0001E1, 0x000F08, 0x0001E2, 0x000F10, 0x000F11, 0x007888,
    0x0001E3, 0x000F18, 0x000F19, 0x0078C8, 0x000F1A, 0x0078D0, 0x0078D1, 0x03C688,
    0x00003D, 0x0001E8, 0x0001E9, 0x000F48, 0x0001EA, 0x000F50, 0x000F51, 0x007A88,
    0x0001EB, 0x000F58, 0x000F59, 0x007AC8, 0x000F5A, 0x007AD0, 0x007AD1, 0x03D688,
    0x0001EC, 0x000F60, 0x000F61, 0x007B08, 0x000F62, 0x007B10, 0x007B11, 0x03D888,
    0x000F63, 0x007B18, 0x007B19, 0x03D8C8, 0x007B1A, 0x03D8D0, 0x03D8D1, 0x1EC688,
    0x00003E, 0x0001F0, 0x0001F1, 0x000F88, 0x0001F2, 0x000F90, 0x000F91, 0x007C88,
    0x0001F3, 0x000F98, 0x000F99, 0x007CC8, 0x000F9A, 0x007CD0, 0x007CD1, 0x03E688,
    0x0001F4, 0x000FA0, 0x000FA1, 0x007D08, 0x000FA2, 0x007D10, 0x007D11, 0x03E888,
    0x000FA3, 0x007D18, 0x007D19, 0x03E8C8, 0x007D1A, 0x03E8D0, 0x03E8D1, 0x1F4688,
    0x0001F5, 0x000FA8, 0x000FA9, 0x007D48, 0x000FAA, 0x007D50, 0x007D51, 0x03EA88,
    0x000FAB, 0x007D58, 0x007D59, 0x03EAC8, 0x007D5A, 0x03EAD0, 0x03EAD1, 0x1F5688,
    0x000FAC, 0x007D60, 0x007D61, 0x03EB08, 0x007D62, 0x03EB10, 0x03EB11, 0x1F5888,
    0x007D63, 0x03EB18, 0x03EB19, 0x1F58C8, 0x03EB1A, 0x1F58D0, 0x1F58D1, 0xFAC688,
};
static const uint32_t compress4[16] = {
    0x000000, 0x000008, 0x00001A, 0x000688, 0x00002C, 0x000B08, 0x000B1A, 0x02C688,
    0x00003E, 0x000F88, 0x000F9A, 0x03E688, 0x000FAC, 0x03EB08, 0x03EB1A, 0xFAC688,
};

VI_INLINE __m256i unpack_perm(uint32_t packed)
{
    return _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32((int)packed),
                                              _mm256_setr_epi32(0, 3, 6, 9, 12, 15, 18, 21)),
                            _mm256_set1_epi32(7));
}

/* Store the selected lanes of v packed at dst; returns how many.  A full
 * 8-wide store: the junk past the selected lanes is overwritten by the
 * next outputs (see EMIT_POLAR). */
VI_INLINE int compress_store_ps(float *dst, __m256 v, int mask)
{
    _mm256_storeu_ps(dst, _mm256_permutevar8x32_ps(v, unpack_perm(compress8[mask])));
    return vi_popcount32((unsigned)mask);
}

VI_INLINE int compress_store_pd(double *dst, __m256d v, int mask)
{
    __m256 p = _mm256_permutevar8x32_ps(_mm256_castpd_ps(v), unpack_perm(compress4[mask]));
    _mm256_storeu_pd(dst, _mm256_castps_pd(p));
    return vi_popcount32((unsigned)mask);
}

/* One compacted row (the accepted candidates in lane order, NV vectors)
 * to the output: straight into `out` while the whole row fits below `end`
 * (each store spills junk past its values; the next overwrites it), else
 * through a buffer. */
#define EMIT_ROW(T, NV, STORE, v, m, pos, skip, end, out)                    \
    do {                                                                     \
        if (*(pos) >= (skip) && *(pos) + VI_LANES <= (end)) {                \
            T *d_ = (out) + (*(pos) - (skip));                               \
            for (int k_ = 0; k_ < (NV); k_++) d_ += STORE(d_, (v)[k_], (m)[k_]); \
            *(pos) = (skip) + (size_t)(d_ - (out));                          \
        } else {                                                             \
            T tmp_[VI_LANES + 8], *d_ = tmp_;                                \
            for (int k_ = 0; k_ < (NV); k_++) d_ += STORE(d_, (v)[k_], (m)[k_]); \
            VI_EMIT_COMPACTED(tmp_, d_ - tmp_, (pos), (skip), (end), (out)); \
        }                                                                    \
    } while (0)

/* ---- the wedge lanes ------------------------------------------------------ */

/* The 64-bit lanes of quarter q (lanes 4q..4q+3) selected by the 4-bit m. */
VI_INLINE __m256i quarter_mask(unsigned m)
{
    const __m256i bit = _mm256_setr_epi64x(1, 2, 4, 8);
    return _mm256_cmpeq_epi64(_mm256_and_si256(_mm256_set1_epi64x((long long)m), bit), bit);
}

/* One draw of the wedge lanes of quarter q selected by m (4 bits); the
 * others keep their state.  The draw is in the low dword of each lane. */
VI_INLINE __m256i wedge_draw_quarter(vi_lanes *W, int q, unsigned m)
{
    __m256i s = _mm256_loadu_si256((const __m256i *)(W->state + 4 * q));
    __m256i inc = _mm256_loadu_si256((const __m256i *)(W->inc + 4 * q));
    __m256i next = _mm256_add_epi64(mul64(s, mul64_const(VI_PCG32_MULT)), inc);
    _mm256_storeu_si256((__m256i *)(W->state + 4 * q), _mm256_blendv_epi8(s, next, quarter_mask(m)));
    return pcg_out64(s);
}

/* One draw of the wedge lanes 8h..8h+7 selected by m (8 bits), packed. */
VI_INLINE __m256i wedge_draw32(vi_lanes *W, int h, unsigned m)
{
    __m256 a = _mm256_castsi256_ps(wedge_draw_quarter(W, 2 * h, m & 15u));
    __m256 b = _mm256_castsi256_ps(wedge_draw_quarter(W, 2 * h + 1, m >> 4));
    return _mm256_permute4x64_epi64(_mm256_castps_si256(_mm256_shuffle_ps(a, b, 0x88)), 0xD8);
}

/* Two draws of the wedge lanes of quarter q in m: w = first << 32 | second. */
VI_INLINE __m256i wedge_draw64(vi_lanes *W, int q, unsigned m)
{
    __m256i first = _mm256_slli_epi64(wedge_draw_quarter(W, q, m), 32);
    return _mm256_blend_epi32(first, wedge_draw_quarter(W, q, m), 0x55);
}

/* ---- the ziggurat ----------------------------------------------------------- */

/* The candidates of lanes 8h..8h+7 that failed the fast test: wedge tests
 * lane-wise, the tail beyond r (rare) through the scalar slow path.
 * Returns the accepted lanes. */
VI_INLINE unsigned slow_part_f32(vi_lanes *W, int h, unsigned fast, __m256i d, __m256 *x)
{
    __m256i k = _mm256_and_si256(d, _mm256_set1_epi32(127));
    unsigned layer0 = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(
        _mm256_cmpeq_epi32(k, _mm256_setzero_si256())));
    unsigned tail = ~fast & layer0 & 0xFFu, wedge = ~fast & ~layer0 & 0xFFu, ok = fast | tail;
    if (wedge) {
        __m256 f0 = _mm256_i32gather_ps(vi_zig_f_f32, k, 4);
        __m256 f1 = _mm256_i32gather_ps(vi_zig_f_f32 + 1, k, 4);
        __m256 y = _mm256_add_ps(f0, _mm256_mul_ps(unit_f32(wedge_draw32(W, h, wedge)), _mm256_sub_ps(f1, f0)));
        __m256 bound = _mm256_mul_ps(_mm256_mul_ps(*x, *x), _mm256_set1_ps(-0.5f));
        ok |= wedge & (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(log_ps(y), bound, _CMP_LT_OQ));
    }
    if (tail) {
        float mag[8];
        _mm256_storeu_ps(mag, *x);
        for (unsigned m = tail; m; m &= m - 1) vi_zig_slow_f32(W, 8 * h + vi_ctz32(m), 0, &mag[vi_ctz32(m)]);
        *x = _mm256_loadu_ps(mag);
    }
    return ok;
}

VI_INLINE unsigned slow_part_f64(vi_lanes *W, int q, unsigned fast, __m256i w, __m256d *x)
{
    __m256i k = _mm256_and_si256(w, _mm256_set1_epi64x(127));
    unsigned layer0 = (unsigned)_mm256_movemask_pd(_mm256_castsi256_pd(
        _mm256_cmpeq_epi64(k, _mm256_setzero_si256())));
    unsigned tail = ~fast & layer0 & 0xFu, wedge = ~fast & ~layer0 & 0xFu, ok = fast | tail;
    if (wedge) {
        __m256d f0 = _mm256_i64gather_pd(vi_zig_f_f64, k, 8);
        __m256d f1 = _mm256_i64gather_pd(vi_zig_f_f64 + 1, k, 8);
        __m256d u = unit_f64(_mm256_srli_epi64(wedge_draw64(W, q, wedge), 11));
        __m256d y = _mm256_add_pd(f0, _mm256_mul_pd(u, _mm256_sub_pd(f1, f0)));
        __m256d bound = _mm256_mul_pd(_mm256_mul_pd(*x, *x), _mm256_set1_pd(-0.5));
        ok |= wedge & (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(log_pd(y), bound, _CMP_LT_OQ));
    }
    if (tail) {
        double mag[4];
        _mm256_storeu_pd(mag, *x);
        for (unsigned m = tail; m; m &= m - 1) vi_zig_slow_f64(W, 4 * q + vi_ctz32(m), 0, &mag[vi_ctz32(m)]);
        *x = _mm256_loadu_pd(mag);
    }
    return ok;
}

static void normal_f32(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p)
{
    const __m256 mean = _mm256_set1_ps(p->mean_f), stddev = _mm256_set1_ps(p->stddev_f);
    const __m256 lo = _mm256_set1_ps(p->lo_f), hi = _mm256_set1_ps(p->hi_f);
    const __m256i seven = _mm256_set1_epi32(127), sign = _mm256_set1_epi32((int)0x80000000u);
    size_t pos = 0, end = skip + n;
    vi_lanes W;
    chains C;
    vi_wedge_lanes(L, &W);
    chains_init(&C, L);
    for (;;) {
        /* four rows per chain step, row c from chain c, two halves each */
        __m256 x[4][2];
        __m256i d[4][2];
        unsigned fast[4][2];
        for (int c = 0; c < 4; c++)
            for (int h = 0; h < 2; h++) {
                d[c][h] = draw32(&C, c, h);
                __m256i k = _mm256_and_si256(d[c][h], seven);
                x[c][h] = _mm256_mul_ps(unit_f32(d[c][h]), _mm256_i32gather_ps(vi_zig_x_f32, k, 4));
                fast[c][h] = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(
                    x[c][h], _mm256_i32gather_ps(vi_zig_x_f32 + 1, k, 4), _CMP_LT_OQ));
            }
        chains_step(&C);
        for (int c = 0; c < 4; c++) {
            __m256 v[2];
            int keep[2];
            for (int h = 0; h < 2; h++) {
                unsigned ok = fast[c][h] == 0xFFu ? 0xFFu : slow_part_f32(&W, h, fast[c][h], d[c][h], &x[c][h]);
                __m256 z = _mm256_castsi256_ps(_mm256_xor_si256(_mm256_castps_si256(x[c][h]),
                    _mm256_and_si256(_mm256_slli_epi32(d[c][h], 24), sign)));
                v[h] = _mm256_add_ps(mean, _mm256_mul_ps(stddev, z));
                __m256 in = _mm256_and_ps(_mm256_cmp_ps(lo, v[h], _CMP_LE_OQ), _mm256_cmp_ps(v[h], hi, _CMP_LE_OQ));
                keep[h] = (int)(ok & (unsigned)_mm256_movemask_ps(in));
            }
            EMIT_ROW(float, 2, compress_store_ps, v, keep, &pos, skip, end, out);
            if (pos >= end) return;
        }
    }
}

/* 64 bits per candidate, lanes 4q..4q+3: w = first << 32 | second from
 * chains (c, c+1). */
VI_INLINE __m256i draw64(const chains *C, int c, int q)
{
    __m256i first = _mm256_slli_epi64(pcg_out64(C->s[c][q]), 32);
    return _mm256_blend_epi32(first, pcg_out64(C->s[c + 1][q]), 0x55);
}

static void normal_f64(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p)
{
    const __m256d mean = _mm256_set1_pd(p->mean), stddev = _mm256_set1_pd(p->stddev);
    const __m256d lo = _mm256_set1_pd(p->lo), hi = _mm256_set1_pd(p->hi);
    const __m256i seven = _mm256_set1_epi64x(127), sign = _mm256_set1_epi64x((long long)(UINT64_C(1) << 63));
    size_t pos = 0, end = skip + n;
    vi_lanes W;
    chains C;
    vi_wedge_lanes(L, &W);
    chains_init(&C, L);
    for (;;) {
        /* two rows per chain step, row r from chains (2r, 2r+1), four quarters each */
        __m256d x[2][4];
        __m256i w[2][4];
        unsigned fast[2][4];
        for (int r = 0; r < 2; r++)
            for (int q = 0; q < 4; q++) {
                w[r][q] = draw64(&C, 2 * r, q);
                __m256i k = _mm256_and_si256(w[r][q], seven);
                x[r][q] = _mm256_mul_pd(unit_f64(_mm256_srli_epi64(w[r][q], 11)),
                                        _mm256_i64gather_pd(vi_zig_x_f64, k, 8));
                fast[r][q] = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(
                    x[r][q], _mm256_i64gather_pd(vi_zig_x_f64 + 1, k, 8), _CMP_LT_OQ));
            }
        chains_step(&C);
        for (int r = 0; r < 2; r++) {
            __m256d v[4];
            int keep[4];
            for (int q = 0; q < 4; q++) {
                unsigned ok = fast[r][q] == 0xFu ? 0xFu : slow_part_f64(&W, q, fast[r][q], w[r][q], &x[r][q]);
                __m256d z = _mm256_castsi256_pd(_mm256_xor_si256(_mm256_castpd_si256(x[r][q]),
                    _mm256_and_si256(_mm256_slli_epi64(w[r][q], 56), sign)));
                v[q] = _mm256_add_pd(mean, _mm256_mul_pd(stddev, z));
                __m256d in = _mm256_and_pd(_mm256_cmp_pd(lo, v[q], _CMP_LE_OQ), _mm256_cmp_pd(v[q], hi, _CMP_LE_OQ));
                keep[q] = (int)(ok & (unsigned)_mm256_movemask_pd(in));
            }
            EMIT_ROW(double, 4, compress_store_pd, v, keep, &pos, skip, end, out);
            if (pos >= end) return;
        }
    }
}

/* ---- uniform and exponential rejection (docs/stream.md 5.3, 5.4) ---------- */

/* float32: two draws per candidate, two rows per chain step (row r from
 * chains 2r, 2r+1), two halves per row. */
#define REJECTION_F32(NAME, CANDIDATE)                                       \
static void NAME(vi_lanes *L, size_t skip, size_t n, float *out, const vi_params *p) \
{                                                                            \
    const __m256 lo = _mm256_set1_ps(p->lo_f), hi = _mm256_set1_ps(p->hi_f); \
    const __m256 base = _mm256_set1_ps(p->base_f), step = _mm256_set1_ps(p->step_f); \
    const __m256 width = _mm256_set1_ps(p->width_f), mean = _mm256_set1_ps(p->mean_f); \
    const __m256 scale = _mm256_set1_ps(p->scale_f), shift = _mm256_set1_ps(p->shift_f); \
    const __m256 half = _mm256_set1_ps(0.5f);                                \
    size_t pos = 0, end = skip + n;                                          \
    chains C;                                                                \
    chains_init(&C, L);                                                      \
    for (;;) {                                                               \
        __m256 v[2][2];                                                      \
        int keep[2][2];                                                      \
        for (int r = 0; r < 2; r++)                                          \
            for (int h = 0; h < 2; h++) {                                    \
                __m256i d1 = draw32(&C, 2 * r, h), d2 = draw32(&C, 2 * r + 1, h); \
                __m256 in_;                                                  \
                CANDIDATE(d1, d2, v[r][h], in_);                             \
                keep[r][h] = _mm256_movemask_ps(in_);                        \
            }                                                                \
        chains_step(&C);                                                     \
        for (int r = 0; r < 2; r++) {                                        \
            EMIT_ROW(float, 2, compress_store_ps, v[r], keep[r], &pos, skip, end, out); \
            if (pos >= end) return;                                          \
        }                                                                    \
    }                                                                        \
}

/* float64: four draws per candidate (w1 from chains 0, 1; w2 from 2, 3),
 * one row per chain step, four quarters per row. */
#define REJECTION_F64(NAME, CANDIDATE)                                       \
static void NAME(vi_lanes *L, size_t skip, size_t n, double *out, const vi_params *p) \
{                                                                            \
    const __m256d lo = _mm256_set1_pd(p->lo), hi = _mm256_set1_pd(p->hi);   \
    const __m256d base = _mm256_set1_pd(p->base), step = _mm256_set1_pd(p->step); \
    const __m256d width = _mm256_set1_pd(p->width), mean = _mm256_set1_pd(p->mean); \
    const __m256d scale = _mm256_set1_pd(p->scale), shift = _mm256_set1_pd(p->shift); \
    const __m256d half = _mm256_set1_pd(0.5);                                \
    size_t pos = 0, end = skip + n;                                          \
    chains C;                                                                \
    chains_init(&C, L);                                                      \
    for (;;) {                                                               \
        __m256d v[4];                                                        \
        int keep[4];                                                         \
        for (int q = 0; q < 4; q++) {                                        \
            __m256i w1 = draw64(&C, 0, q), w2 = draw64(&C, 2, q);            \
            __m256d in_;                                                     \
            CANDIDATE(w1, w2, v[q], in_);                                    \
            keep[q] = _mm256_movemask_pd(in_);                               \
        }                                                                    \
        chains_step(&C);                                                     \
        EMIT_ROW(double, 4, compress_store_pd, v, keep, &pos, skip, end, out); \
        if (pos >= end) return;                                              \
    }                                                                        \
}

/* VT: the vector type; S: its intrinsic suffix (ps, pd).  keep_ is a
 * comparison mask (all-ones lanes). */
#define FLAT_CANDIDATE(VT, S, UNIT1, OPEN2, LOG, NEG, v_, keep_)             \
    do {                                                                     \
        VT x_ = _mm256_min_##S(_mm256_add_##S(lo, _mm256_mul_##S(UNIT1, width)), hi); \
        VT z_ = _mm256_mul_##S(_mm256_sub_##S(x_, mean), scale);             \
        VT q_ = _mm256_mul_##S(_mm256_sub_##S(_mm256_mul_##S(z_, z_), shift), half); \
        VT e_ = NEG(LOG(OPEN2));                                             \
        (void)base; (void)step;                                              \
        v_ = x_;                                                             \
        keep_ = _mm256_cmp_##S(q_, e_, _CMP_LT_OQ);                          \
    } while (0)
#define TAIL_CANDIDATE(VT, S, OPEN1, OPEN2, LOG, NEG, v_, keep_)             \
    do {                                                                     \
        VT t_ = _mm256_mul_##S(NEG(LOG(OPEN1)), scale);                      \
        VT x_ = _mm256_add_##S(base, _mm256_mul_##S(step, t_));              \
        VT d_ = _mm256_add_##S(t_, shift);                                   \
        VT e_ = NEG(LOG(OPEN2));                                             \
        (void)width; (void)mean;                                             \
        v_ = x_;                                                             \
        keep_ = _mm256_and_##S(_mm256_cmp_##S(_mm256_mul_##S(_mm256_mul_##S(d_, d_), half), e_, _CMP_LT_OQ), \
                _mm256_and_##S(_mm256_cmp_##S(lo, x_, _CMP_LE_OQ), _mm256_cmp_##S(x_, hi, _CMP_LE_OQ))); \
    } while (0)

#define FLAT_F32(d1, d2, v_, keep_) FLAT_CANDIDATE(__m256, ps, unit_f32(d1), open_ps(d2), log_ps, neg_ps, v_, keep_)
#define TAIL_F32(d1, d2, v_, keep_) TAIL_CANDIDATE(__m256, ps, open_ps(d1), open_ps(d2), log_ps, neg_ps, v_, keep_)
#define FLAT_F64(w1, w2, v_, keep_) \
    FLAT_CANDIDATE(__m256d, pd, unit_f64(_mm256_srli_epi64(w1, 11)), open_pd(w2), log_pd, neg_pd, v_, keep_)
#define TAIL_F64(w1, w2, v_, keep_) TAIL_CANDIDATE(__m256d, pd, open_pd(w1), open_pd(w2), log_pd, neg_pd, v_, keep_)
REJECTION_F32(normal_flat_f32, FLAT_F32)
REJECTION_F32(normal_tail_f32, TAIL_F32)
REJECTION_F64(normal_flat_f64, FLAT_F64)
REJECTION_F64(normal_tail_f64, TAIL_F64)

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
