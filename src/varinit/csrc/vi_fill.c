/* vi_fill.c - the block loop shared by every kernel table. */
#include "vi_fill.h"

#if defined(__x86_64__) || defined(_M_X64) || defined(__SSE2__)
#  include <xmmintrin.h>
/* The caller's thread may run with flush-to-zero / denormals-are-zero set
 * (some libraries turn them on); subnormal results would then differ from
 * the stream.  Fill with the IEEE default and restore the caller's mode. */
#  define VI_FP_MODE_ENTER unsigned int vi_saved_csr_ = _mm_getcsr(); _mm_setcsr(0x1F80u)
#  define VI_FP_MODE_LEAVE _mm_setcsr(vi_saved_csr_)
#else
#  define VI_FP_MODE_ENTER ((void)0)
#  define VI_FP_MODE_LEAVE ((void)0)
#endif

static void fill_block(const vi_kernel_table *K, int dist, int dtype, vi_lanes *L,
                       const vi_params *p, size_t skip, size_t n, void *out)
{
    float narrow_scratch[VI_BLOCK];   /* one block, never the whole output */
    switch (dtype) {
    case VI_U32:
        K->raw_u32(L, skip, n, (uint32_t *)out);
        return;
    case VI_F64:
        (dist == VI_DIST_UNIFORM ? K->uniform_f64 : K->normal_f64)(L, skip, n, (double *)out, p);
        return;
    case VI_F32:
        (dist == VI_DIST_UNIFORM ? K->uniform_f32 : K->normal_f32)(L, skip, n, (float *)out, p);
        return;
    default:  /* float16 / bfloat16: the float32 stream, rounded then clamped */
        (dist == VI_DIST_UNIFORM ? K->uniform_f32 : K->normal_f32)(L, skip, n, narrow_scratch, p);
        (dtype == VI_F16 ? K->narrow_f16 : K->narrow_bf16)(narrow_scratch, n, (uint16_t *)out, p);
        return;
    }
}

void vi_fill_range(const vi_kernel_table *K, int dist, int dtype, uint64_t seed,
                   const vi_params *p, uint64_t first, size_t n, void *out)
{
    size_t itemsize = dtype == VI_F64 ? 8 : (dtype == VI_F16 || dtype == VI_BF16) ? 2 : 4;
    char *dst = (char *)out;
    VI_FP_MODE_ENTER;
    while (n > 0) {
        uint64_t block = first / VI_BLOCK;
        size_t skip = (size_t)(first % VI_BLOCK);
        size_t count = VI_BLOCK - skip < n ? VI_BLOCK - skip : n;
        vi_lanes L;
        K->block_lanes(seed, block, &L);
        fill_block(K, dist, dtype, &L, p, skip, count, dst);
        dst += count * itemsize;
        first += count;
        n -= count;
    }
    VI_FP_MODE_LEAVE;
}
