/* vi_sync.h - the few atomics and the polite wait the fill driver needs.
 * Sequentially consistent everywhere: the driver's hand-off protocol
 * (cancel flag vs in-flight count) relies on a single total order. */
#ifndef VARINIT_VI_SYNC_H
#define VARINIT_VI_SYNC_H

#include "vi_common.h"

#if defined(_MSC_VER)
#  ifndef WIN32_LEAN_AND_MEAN
#    define WIN32_LEAN_AND_MEAN   /* keep min/max/near/small macros out of the kernels */
#  endif
#  ifndef NOMINMAX
#    define NOMINMAX
#  endif
#  include <windows.h>
VI_INLINE int64_t vi_atomic_add(volatile int64_t *p, int64_t v) { return InterlockedExchangeAdd64(p, v); }
VI_INLINE int64_t vi_atomic_load(volatile int64_t *p) { return InterlockedCompareExchange64(p, 0, 0); }
VI_INLINE void vi_atomic_store(volatile int64_t *p, int64_t v) { (void)InterlockedExchange64(p, v); }
VI_INLINE void vi_wait_briefly(void) { Sleep(1); }   /* Sleep(0) would spin */
#else
#  include <time.h>
VI_INLINE int64_t vi_atomic_add(volatile int64_t *p, int64_t v) { return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST); }
VI_INLINE int64_t vi_atomic_load(volatile int64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
VI_INLINE void vi_atomic_store(volatile int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
/* A worker finishes its chunk within about a millisecond: sleep, don't spin. */
VI_INLINE void vi_wait_briefly(void)
{
    struct timespec ts = { 0, 20000 };
    nanosleep(&ts, NULL);
}
#endif

#endif
