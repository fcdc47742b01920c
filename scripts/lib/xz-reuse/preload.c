// Measurement only, never linked into mkportable (docs/performance.md,
// "Issue 23: the xz encoder kept between blocks"). Built as an LD_PRELOAD
// library, it replaces liblzma's lzma_stream_buffer_encode with the same
// .xz stream built around one lzma_raw_encoder per thread that is kept from
// call to call, so that an unchanged mkportable binary can be run, counted
// and timed both ways. The framing uses liblzma's own public encoders
// (stream header and footer, block header, index) with the buffer limits
// that liblzma 5.4.1's stream_buffer_encoder.c and block_buffer_encoder.c
// apply; any case other than a block that compresses within its room is
// handed to the real function. check.c compares the two byte for byte.
//
//   gcc -O2 -fPIC -shared -o /tmp/xz-reuse.so scripts/lib/xz-reuse/preload.c -llzma -ldl
//   LD_PRELOAD=/tmp/xz-reuse.so mkportable pack ...
#define _GNU_SOURCE
#include <dlfcn.h>
#include <lzma.h>

typedef lzma_ret (*encode_fn)(lzma_filter *, lzma_check, const lzma_allocator *,
                              const uint8_t *, size_t, uint8_t *, size_t *, size_t);

static __thread lzma_stream kept = LZMA_STREAM_INIT;
/// Calls handed to liblzma's function (read by check.c).
unsigned long xz_reuse_handed_on = 0;

static lzma_ret liblzmas(lzma_filter *f, lzma_check c, const lzma_allocator *a, const uint8_t *in,
                         size_t n, uint8_t *out, size_t *pos, size_t size) {
    static encode_fn real;
    if (!real) real = (encode_fn)dlsym(RTLD_NEXT, "lzma_stream_buffer_encode");
    __atomic_add_fetch(&xz_reuse_handed_on, 1, __ATOMIC_RELAXED);
    return real(f, c, a, in, n, out, pos, size);
}

/// LZMA2's worst case for n bytes: uncompressed chunks of 64 KiB with a
/// 3-byte header each, and the end marker (block_buffer_encoder.c).
static uint64_t lzma2_bound(uint64_t n) { return n + (n + 65535) / 65536 * 3 + 1; }

/// The block's index record, index and stream footer after `pos`.
static lzma_ret finish_stream(const lzma_block *block, size_t in_size, lzma_stream_flags *flags,
                              uint8_t *out, size_t *pos, size_t stream_end) {
    lzma_index *index = lzma_index_init(NULL);
    if (index == NULL) return LZMA_MEM_ERROR;
    lzma_ret ret = lzma_index_append(index, NULL, lzma_block_unpadded_size(block), in_size);
    if (ret == LZMA_OK) {
        ret = lzma_index_buffer_encode(index, out, pos, stream_end);
        flags->backward_size = lzma_index_size(index);
    }
    lzma_index_end(index, NULL);
    if (ret != LZMA_OK) return ret;
    if (lzma_stream_footer_encode(flags, out + *pos) != LZMA_OK) return LZMA_PROG_ERROR;
    *pos += LZMA_STREAM_HEADER_SIZE;
    return LZMA_OK;
}

lzma_ret lzma_stream_buffer_encode(lzma_filter *filters, lzma_check check, const lzma_allocator *allocator,
                                   const uint8_t *in, size_t in_size, uint8_t *out, size_t *out_pos, size_t out_size) {
    if (check != LZMA_CHECK_CRC32 || in_size == 0 || allocator != NULL || out == NULL || *out_pos > out_size)
        return liblzmas(filters, check, allocator, in, in_size, out, out_pos, out_size);
    size_t pos = *out_pos;
    if (out_size - pos <= 2 * LZMA_STREAM_HEADER_SIZE) return LZMA_BUF_ERROR;
    const size_t stream_end = out_size - LZMA_STREAM_HEADER_SIZE;  // the footer's room
    lzma_stream_flags flags = { .version = 0, .check = check };
    if (lzma_stream_header_encode(&flags, out + pos) != LZMA_OK) return LZMA_PROG_ERROR;
    pos += LZMA_STREAM_HEADER_SIZE;

    // The block: a multiple of four bytes, then the 4-byte CRC32 check.
    size_t block_end = stream_end - ((stream_end - pos) & 3);
    if (block_end - pos <= 4) return liblzmas(filters, check, allocator, in, in_size, out, out_pos, out_size);
    block_end -= 4;
    lzma_block block = { .version = 0, .check = check, .filters = filters };
    block.uncompressed_size = in_size;
    block.compressed_size = lzma2_bound(in_size);  // sizes the header, as liblzma does
    if (lzma_block_header_size(&block) != LZMA_OK || block_end - pos <= block.header_size)
        return liblzmas(filters, check, allocator, in, in_size, out, out_pos, out_size);
    const size_t header_at = pos;
    pos += block.header_size;
    size_t limit = block_end;
    if (limit - pos > block.compressed_size) limit = pos + block.compressed_size;

    if (lzma_raw_encoder(&kept, filters) != LZMA_OK)
        return liblzmas(filters, check, allocator, in, in_size, out, out_pos, out_size);
    kept.next_in = in;
    kept.avail_in = in_size;
    kept.next_out = out + pos;
    kept.avail_out = limit - pos;
    const lzma_ret coded = lzma_code(&kept, LZMA_FINISH);
    // Did not fit: liblzma would try uncompressed chunks, which need more
    // room than the input itself.
    if (coded == LZMA_OK && block_end - header_at < in_size) return LZMA_BUF_ERROR;
    if (coded != LZMA_STREAM_END) return liblzmas(filters, check, allocator, in, in_size, out, out_pos, out_size);
    block.compressed_size = (limit - pos) - kept.avail_out;
    pos += block.compressed_size;
    if (lzma_block_header_encode(&block, out + header_at) != LZMA_OK) return LZMA_PROG_ERROR;
    for (uint64_t i = block.compressed_size; i & 3; ++i) out[pos++] = 0;
    const uint32_t crc = lzma_crc32(in, in_size, 0);
    for (int i = 0; i < 4; ++i) out[pos++] = (uint8_t)(crc >> (8 * i));

    const lzma_ret ret = finish_stream(&block, in_size, &flags, out, &pos, stream_end);
    if (ret == LZMA_OK) *out_pos = pos;
    return ret;
}
