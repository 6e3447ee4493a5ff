/* vi_fill.c - the block loop shared by every kernel table. */
#include <string.h>
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

static const size_t itemsize[VI_NDTYPE] = {
    [VI_U32] = 4, [VI_F32] = 4, [VI_F64] = 8, [VI_F16] = 2, [VI_BF16] = 2,
    [VI_F8E4M3] = 1, [VI_F8E5M2] = 1,
};

int vi_params_set(vi_params *p, const char *name, double value)
{
    /* The narrowing to a float32 field is a rounding the caller's mode
     * would change (a subnormal bound flushed to zero). */
    int status = 1;
    VI_FP_MODE_ENTER;
#define VI_PARAM_SET(T, field)                                               \
    if (status && strcmp(name, #field) == 0) { p->field = (T)value; status = 0; }
    VI_PARAM_FIELDS(VI_PARAM_SET)
#undef VI_PARAM_SET
    VI_FP_MODE_LEAVE;
    return status;
}

static vi_block_kernel slot(const vi_kernel_table *K, int dist, int dtype)
{
    if (dist < 0 || dist >= VI_NDIST || dtype < 0 || dtype >= VI_NDTYPE) return NULL;
    return K->fill[dist][dtype];
}

int vi_fill_supported(const vi_kernel_table *K, int dist, int dtype)
{
    return slot(K, dist, dtype) != NULL;
}

int vi_fill_range(const vi_kernel_table *K, int dist, int dtype, uint64_t seed,
                  const vi_params *p, uint64_t first, size_t n, void *out)
{
    vi_block_kernel kernel = slot(K, dist, dtype);
    if (kernel == NULL) return VI_ERR_NO_KERNEL;
    char *dst = (char *)out;
    VI_FP_MODE_ENTER;
    while (n > 0) {
        uint64_t block = first / VI_BLOCK;
        size_t skip = (size_t)(first % VI_BLOCK);
        size_t count = VI_BLOCK - skip < n ? VI_BLOCK - skip : n;
        vi_lanes L;
        K->block_lanes(seed, block, &L);
        kernel(&L, skip, count, dst, p);
        dst += count * itemsize[dtype];
        first += count;
        n -= count;
    }
    VI_FP_MODE_LEAVE;
    return 0;
}
