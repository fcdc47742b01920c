// Measurement only (see preload.c): preload.c's lzma_stream_buffer_encode
// against liblzma's, byte for byte, on one thread that keeps its encoder
// through every case: text, x86 code, random bytes, text half zeros, all
// zeros; 1 byte to 1 MiB; LZMA2 plain, with the x86 BCJ filter, and with
// the packed tails' lc=3 lp=0 pb=0; room of the input less one byte (what
// XzWorker gives), plenty, a third, and none. Exits 1 on any difference.
//
//   gcc -O2 -fPIC -shared -o /tmp/xz-reuse.so scripts/lib/xz-reuse/preload.c -llzma -ldl
//   gcc -O2 -o /tmp/xz-reuse-check scripts/lib/xz-reuse/check.c -llzma -ldl
//   /tmp/xz-reuse-check /tmp/xz-reuse.so TEXTFILE /usr/bin/ls
#define _GNU_SOURCE
#include <dlfcn.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef lzma_ret (*encode_fn)(lzma_filter *, lzma_check, const lzma_allocator *,
                              const uint8_t *, size_t, uint8_t *, size_t *, size_t);
enum { CAP = 1 << 20 };

static uint8_t *load(const char *path) {
    uint8_t *b = calloc(CAP, 1);
    FILE *f = fopen(path, "rb");
    if (!b || !f) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    size_t n = fread(b, 1, CAP, f);
    for (size_t i = n; n > 0 && i < CAP; i++) b[i] = b[i % n];  // repeat a short file
    fclose(f);
    return b;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s PRELOAD.so TEXTFILE X86FILE\n", argv[0]); return 2; }
    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    encode_fn ours = lib ? (encode_fn)dlsym(lib, "lzma_stream_buffer_encode") : NULL;
    unsigned long *handed_on = lib ? dlsym(lib, "xz_reuse_handed_on") : NULL;
    if (!ours || !handed_on || ours == lzma_stream_buffer_encode) { fprintf(stderr, "bad %s\n", argv[1]); return 2; }
    uint8_t *contents[5] = { load(argv[2]), load(argv[3]), malloc(CAP), load(argv[2]), calloc(CAP, 1) };
    srand(23);
    for (size_t i = 0; i < CAP; i++) contents[2][i] = (uint8_t)rand();
    memset(contents[3], 0, CAP / 2);
    uint8_t *a = malloc(3 * CAP), *b = malloc(3 * CAP);
    const size_t sizes[] = { 1, 2, 3, 100, 4095, 8192, 65536, 65537, 200000, CAP };
    int cases = 0, differ = 0;
    for (int k = 0; k < 5; k++) for (int s = 0; s < 10; s++) for (int room = 0; room < 4; room++) for (int c = 0; c < 3; c++) {
        const size_t n = sizes[s];
        lzma_options_lzma plain, packed;
        lzma_lzma_preset(&plain, 6);
        plain.dict_size = n < 8192 ? 8192 : n;
        packed = plain;
        packed.lc = 3; packed.lp = 0; packed.pb = 0;
        lzma_filter chains[3][3] = {
            { { LZMA_FILTER_LZMA2, &plain }, { LZMA_VLI_UNKNOWN, NULL } },
            { { LZMA_FILTER_X86, NULL }, { LZMA_FILTER_LZMA2, &plain }, { LZMA_VLI_UNKNOWN, NULL } },
            { { LZMA_FILTER_LZMA2, &packed }, { LZMA_VLI_UNKNOWN, NULL } },
        };
        const size_t out_size = room == 0 ? n - 1 : room == 1 ? 2 * n + 200 : room == 2 ? n / 3 : 0;
        size_t pa = 0, pb = 0;
        memset(a, 0xAA, 3 * CAP);
        memset(b, 0x55, 3 * CAP);
        lzma_ret ra = lzma_stream_buffer_encode(chains[c], LZMA_CHECK_CRC32, NULL, contents[k], n, a, &pa, out_size);
        lzma_ret rb = ours(chains[c], LZMA_CHECK_CRC32, NULL, contents[k], n, b, &pb, out_size);
        cases++;
        if (ra != rb || pa != pb || (ra == LZMA_OK && memcmp(a, b, pa) != 0)) {
            differ++;
            printf("differs: content %d, %zu bytes, room %zu, chain %d: %d/%d, %zu/%zu bytes\n", k, n, out_size, c, ra, rb, pa, pb);
        }
    }
    printf("%d cases, %d differ, %lu handed to liblzma's function\n", cases, differ, *handed_on);
    return differ != 0;
}
