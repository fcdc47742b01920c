#include <lzo/lzoconf.h>
#include <lzo/lzo1x.h>

// lzo_init() and the work-memory sizes are function-like or computed
// macros, which Swift cannot import; these give them names it can call.
static inline int clzo_init(void) { return lzo_init(); }
static inline unsigned long clzo_mem_1(void) { return LZO1X_1_MEM_COMPRESS; }
static inline unsigned long clzo_mem_1_11(void) { return LZO1X_1_11_MEM_COMPRESS; }
static inline unsigned long clzo_mem_1_12(void) { return LZO1X_1_12_MEM_COMPRESS; }
static inline unsigned long clzo_mem_1_15(void) { return LZO1X_1_15_MEM_COMPRESS; }
static inline unsigned long clzo_mem_999(void) { return LZO1X_999_MEM_COMPRESS; }
