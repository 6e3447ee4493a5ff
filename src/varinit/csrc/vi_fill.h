/* vi_fill.h - fill a range of a stream: split into blocks, seed each block's
 * lanes, call the kernel table's slot.  Called without the GIL, on disjoint
 * ranges from several threads. */
#ifndef VARINIT_VI_FILL_H
#define VARINIT_VI_FILL_H

#include "vi_kernels.h"

/* Returned for a (distribution, dtype) the table has no kernel for. */
#define VI_ERR_NO_KERNEL 1

/* Whether table K has a kernel for (dist, dtype). */
int vi_fill_supported(const vi_kernel_table *K, int dist, int dtype);

/* Write stream elements [first, first + n) of (seed, dist, params) as
 * `dtype` to out[0 .. n).  Returns 0, or VI_ERR_NO_KERNEL (nothing written). */
int vi_fill_range(const vi_kernel_table *K, int dist, int dtype, uint64_t seed,
                  const vi_params *p, uint64_t first, size_t n, void *out);

#endif
