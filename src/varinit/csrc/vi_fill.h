/* vi_fill.h - fill a range of a stream: split into blocks, seed each block's
 * lanes, call the active kernel table.  Called without the GIL, on disjoint
 * ranges from several threads. */
#ifndef VARINIT_VI_FILL_H
#define VARINIT_VI_FILL_H

#include "vi_kernels.h"

enum vi_dist { VI_DIST_RAW = 0, VI_DIST_UNIFORM = 1, VI_DIST_NORMAL = 2 };
enum vi_dtype { VI_U32 = 0, VI_F32 = 1, VI_F64 = 2, VI_F16 = 3, VI_BF16 = 4 };

/* Write stream elements [first, first + n) of (seed, dist, params) as
 * `dtype` to out[0 .. n). */
void vi_fill_range(const vi_kernel_table *K, int dist, int dtype, uint64_t seed,
                   const vi_params *p, uint64_t first, size_t n, void *out);

#endif
