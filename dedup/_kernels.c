/* Dedupe's hot loops in C, for dolma.dedup.kernels: XXH3-64 of many slices of one buffer, the Bloom filter's
 * chunked test-and-set, a file's first occurrence of each key, and the JSON of exact-match spans. Each gives exactly
 * what its numpy/xxhash fallback gives (tests/test_dedupe_kernels.py holds them to it); they only save the per-key
 * Python calls and numpy's passes over temporaries.
 *
 * XXH3-64 is written here from its specification (the xxHash project's, BSD-2): the default 192-byte secret, the
 * length classes 0, 1-3, 4-8, 9-16, 17-128, 129-240 and the long-input loop (stripes of 64 bytes, a scramble every
 * 1024), with a seed (a custom secret derived from it for long inputs). Little-endian reads go through memcpy, so any
 * alignment and any host byte order give the same hashes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef uint64_t u64;
typedef uint32_t u32;
typedef uint8_t u8;

static const u8 SECRET[192] = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

#define P32_1 0x9E3779B1U
#define P32_2 0x85EBCA77U
#define P32_3 0xC2B2AE3DU
#define P64_1 0x9E3779B185EBCA87ULL
#define P64_2 0xC2B2AE3D27D4EB4FULL
#define P64_3 0x165667B19E3779F9ULL
#define P64_4 0x85EBCA77C2B2AE63ULL
#define P64_5 0x27D4EB2F165667C5ULL
#define MX1 0x165667919E3779F9ULL
#define MX2 0x9FB21C651E98DF25ULL

static inline u64 le64(const u8 *p) {
    u64 v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline u32 le32(const u8 *p) {
    u32 v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline void put64(u8 *p, u64 v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    memcpy(p, &v, 8);
}

static inline u64 rotl64(u64 x, int r) { return (x << r) | (x >> (64 - r)); }

static inline u64 swap64(u64 x) {
    return ((x << 56) & 0xff00000000000000ULL) | ((x << 40) & 0x00ff000000000000ULL) |
           ((x << 24) & 0x0000ff0000000000ULL) | ((x << 8) & 0x000000ff00000000ULL) |
           ((x >> 8) & 0x00000000ff000000ULL) | ((x >> 24) & 0x0000000000ff0000ULL) |
           ((x >> 40) & 0x000000000000ff00ULL) | ((x >> 56) & 0x00000000000000ffULL);
}

static inline u32 swap32(u32 x) {
    return ((x << 24) & 0xff000000U) | ((x << 8) & 0x00ff0000U) | ((x >> 8) & 0x0000ff00U) | ((x >> 24) & 0xffU);
}

/* the 128-bit product of two 64-bit numbers, its halves xor-ed together */
static inline u64 mul_fold(u64 a, u64 b) {
#if defined(__SIZEOF_INT128__)
    unsigned __int128 p = (unsigned __int128)a * b;
    return (u64)p ^ (u64)(p >> 64);
#else
    u64 lo_lo = (a & 0xFFFFFFFFULL) * (b & 0xFFFFFFFFULL);
    u64 hi_lo = (a >> 32) * (b & 0xFFFFFFFFULL);
    u64 lo_hi = (a & 0xFFFFFFFFULL) * (b >> 32);
    u64 hi_hi = (a >> 32) * (b >> 32);
    u64 cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFFULL) + lo_hi;
    u64 upper = (hi_lo >> 32) + (cross >> 32) + hi_hi;
    u64 lower = (cross << 32) | (lo_lo & 0xFFFFFFFFULL);
    return lower ^ upper;
#endif
}

static inline u64 avalanche64(u64 h) { /* XXH64's final mix */
    h ^= h >> 33;
    h *= P64_2;
    h ^= h >> 29;
    h *= P64_3;
    h ^= h >> 32;
    return h;
}

static inline u64 avalanche3(u64 h) {
    h ^= h >> 37;
    h *= MX1;
    h ^= h >> 32;
    return h;
}

static inline u64 rrmxmx(u64 h, u64 len) {
    h ^= rotl64(h, 49) ^ rotl64(h, 24);
    h *= MX2;
    h ^= (h >> 35) + len;
    h *= MX2;
    h ^= h >> 28;
    return h;
}

static inline u64 mix16(const u8 *in, const u8 *sec, u64 seed) {
    return mul_fold(le64(in) ^ (le64(sec) + seed), le64(in + 8) ^ (le64(sec + 8) - seed));
}

static u64 hash_short(const u8 *in, size_t len, u64 seed) { /* len <= 16 */
    if (len > 8) {
        u64 lo = le64(in) ^ ((le64(SECRET + 24) ^ le64(SECRET + 32)) + seed);
        u64 hi = le64(in + len - 8) ^ ((le64(SECRET + 40) ^ le64(SECRET + 48)) - seed);
        return avalanche3(len + swap64(lo) + hi + mul_fold(lo, hi));
    }
    if (len >= 4) {
        u64 s = seed ^ ((u64)swap32((u32)seed) << 32);
        u64 both = (u64)le32(in + len - 4) + ((u64)le32(in) << 32);
        return rrmxmx(both ^ ((le64(SECRET + 8) ^ le64(SECRET + 16)) - s), len);
    }
    if (len) {
        u32 combined = ((u32)in[0] << 16) | ((u32)in[len >> 1] << 24) | (u32)in[len - 1] | ((u32)len << 8);
        return avalanche64((u64)combined ^ ((u64)(le32(SECRET) ^ le32(SECRET + 4)) + seed));
    }
    return avalanche64(seed ^ (le64(SECRET + 56) ^ le64(SECRET + 64)));
}

static u64 hash_medium(const u8 *in, size_t len, u64 seed) { /* 17 <= len <= 128 */
    u64 acc = len * P64_1;
    if (len > 32) {
        if (len > 64) {
            if (len > 96) {
                acc += mix16(in + 48, SECRET + 96, seed);
                acc += mix16(in + len - 64, SECRET + 112, seed);
            }
            acc += mix16(in + 32, SECRET + 64, seed);
            acc += mix16(in + len - 48, SECRET + 80, seed);
        }
        acc += mix16(in + 16, SECRET + 32, seed);
        acc += mix16(in + len - 32, SECRET + 48, seed);
    }
    acc += mix16(in, SECRET, seed);
    acc += mix16(in + len - 16, SECRET + 16, seed);
    return avalanche3(acc);
}

static u64 hash_240(const u8 *in, size_t len, u64 seed) { /* 129 <= len <= 240 */
    u64 acc = len * P64_1, end;
    size_t rounds = len / 16, i;
    for (i = 0; i < 8; i++) acc += mix16(in + 16 * i, SECRET + 16 * i, seed);
    end = mix16(in + len - 16, SECRET + 136 - 17, seed);
    acc = avalanche3(acc);
    for (i = 8; i < rounds; i++) end += mix16(in + 16 * i, SECRET + 16 * (i - 8) + 3, seed);
    return avalanche3(acc + end);
}

static inline void stripe(u64 *acc, const u8 *in, const u8 *sec) { /* 64 bytes into the 8 accumulators */
    for (int i = 0; i < 8; i++) {
        u64 v = le64(in + 8 * i);
        u64 key = v ^ le64(sec + 8 * i);
        acc[i ^ 1] += v;
        acc[i] += (key & 0xFFFFFFFFULL) * (key >> 32);
    }
}

static u64 hash_long(const u8 *in, size_t len, const u8 *sec) { /* len > 240, a 192-byte secret */
    u64 acc[8] = {P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1};
    const size_t per_block = (192 - 64) / 8, block = 64 * per_block;
    size_t blocks = (len - 1) / block, n, s;
    for (n = 0; n < blocks; n++) {
        for (s = 0; s < per_block; s++) stripe(acc, in + n * block + 64 * s, sec + 8 * s);
        for (int i = 0; i < 8; i++) { /* scramble */
            u64 a = acc[i];
            a ^= a >> 47;
            a ^= le64(sec + 192 - 64 + 8 * i);
            acc[i] = a * P32_1;
        }
    }
    size_t stripes = ((len - 1) - block * blocks) / 64;
    for (s = 0; s < stripes; s++) stripe(acc, in + blocks * block + 64 * s, sec + 8 * s);
    stripe(acc, in + len - 64, sec + 192 - 64 - 7);
    u64 result = len * P64_1;
    for (int i = 0; i < 4; i++) result += mul_fold(acc[2 * i] ^ le64(sec + 11 + 16 * i), acc[2 * i + 1] ^ le64(sec + 11 + 16 * i + 8));
    return avalanche3(result);
}

/* XXH3-64 of in[0:len] with a seed; ``custom`` is the seed's secret for long inputs (NULL: the default, seed 0) */
static inline u64 xxh3_64(const u8 *in, size_t len, u64 seed, const u8 *custom) {
    if (len <= 16) return hash_short(in, len, seed);
    if (len <= 128) return hash_medium(in, len, seed);
    if (len <= 240) return hash_240(in, len, seed);
    return hash_long(in, len, custom ? custom : SECRET);
}

/* the secret of long inputs for a seed, written into custom: NULL (the default secret) for seed 0 */
static const u8 *secret_of(u64 seed, u8 *custom) {
    if (!seed) return NULL;
    for (int i = 0; i < 12; i++) {
        put64(custom + 16 * i, le64(SECRET + 16 * i) + seed);
        put64(custom + 16 * i + 8, le64(SECRET + 16 * i + 8) - seed);
    }
    return custom;
}

static int check_items(Py_buffer *view, Py_ssize_t size, const char *what) {
    if (view->len % size) {
        PyErr_Format(PyExc_ValueError, "%s: %zd bytes is not a whole number of %zd-byte items", what, view->len, size);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(xxh3_slices_doc,
"xxh3_slices(data, starts, ends, seed, out)\n--\n\n"
"Write XXH3-64(data[starts[i]:ends[i]], seed) into out[i]: starts and ends are int64 buffers, out a writable\n"
"uint64 buffer of the same length. Raises ValueError (and writes nothing) if a slice is out of bounds.");

static PyObject *xxh3_slices(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer data, starts, ends, out;
    unsigned long long seed;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*Kw*", &data, &starts, &ends, &seed, &out)) return NULL;
    if (check_items(&starts, 8, "starts") || check_items(&ends, 8, "ends") || check_items(&out, 8, "out")) goto done;
    Py_ssize_t n = starts.len / 8;
    if (ends.len / 8 != n || out.len / 8 != n) {
        PyErr_Format(PyExc_ValueError, "starts, ends and out differ in length (%zd, %zd, %zd)", n, ends.len / 8, out.len / 8);
        goto done;
    }
    const int64_t *s = (const int64_t *)starts.buf, *e = (const int64_t *)ends.buf;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < 0 || s[i] > e[i] || e[i] > data.len) {
            PyErr_Format(PyExc_ValueError, "slice %zd is [%lld:%lld] of a %zd-byte buffer", i, (long long)s[i],
                         (long long)e[i], data.len);
            goto done;
        }
    }
    {
        u8 custom[192];
        const u8 *sec = secret_of(seed, custom);
        const u8 *buf = (const u8 *)data.buf;
        u64 *h = (u64 *)out.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t i = 0; i < n; i++) h[i] = xxh3_64(buf + s[i], (size_t)(e[i] - s[i]), (u64)seed, sec);
        Py_END_ALLOW_THREADS
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&starts);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&out);
    return result;
}

#define AHEAD 48
#if defined(__GNUC__)
#define PREFETCH(address) __builtin_prefetch(address)
#else
#define PREFETCH(address) ((void)0)
#endif

static inline u64 splitmix64(u64 z) {
    z ^= z >> 30;
    z *= 0xBF58476D1CE4E5B9ULL;
    z ^= z >> 27;
    z *= 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return z;
}

PyDoc_STRVAR(bloom_mark_doc,
"bloom_mark(bits, m, k, h1, found, insert, chunk)\n--\n\n"
"Probe the distinct keys h1 (a uint64 buffer) in a Bloom filter of m bits (the buffer bits, writable to insert) with k probes\n"
"each, chunk keys at a time: found[i] (a writable byte buffer) is 1 when all of key i's bits were set before its\n"
"chunk; with insert, a chunk's bits are set once all its keys are tested. Probe j of a key is\n"
"g = h1 + j * (splitmix64(h1) | 1) (mod 2**64), bit min(trunc(double(g >> 11) * (m / 2**53)), m - 1): exactly\n"
"BloomFilter.positions.");

static PyObject *bloom_mark(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer bits, keys, found;
    unsigned long long m;
    int k, insert;
    Py_ssize_t chunk;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*Kiy*w*pn", &bits, &m, &k, &keys, &found, &insert, &chunk)) return NULL;
    if (check_items(&keys, 8, "h1")) goto done;
    if (insert && bits.readonly) {
        PyErr_SetString(PyExc_ValueError, "bloom_mark: cannot insert into read-only bits");
        goto done;
    }
    Py_ssize_t n = keys.len / 8;
    if (m < 1 || m > (unsigned long long)bits.len * 8 || k < 1 || chunk < 1 || found.len != n) {
        PyErr_Format(PyExc_ValueError, "bloom_mark: m=%llu bits in %zd bytes, k=%d, chunk=%zd, %zd keys, %zd answers", m,
                     bits.len, k, chunk, n, found.len);
        goto done;
    }
    u64 *pos = (u64 *)malloc(sizeof(u64) * (size_t)k * (size_t)(chunk < n ? chunk : (n ? n : 1)));
    if (pos == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    {
        u8 *b = (u8 *)bits.buf, *out = (u8 *)found.buf;
        const u64 *h = (const u64 *)keys.buf;
        const double scale = (double)m / 9007199254740992.0; /* m / 2**53 */
        const u64 last = m - 1;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t start = 0; start < n; start += chunk) {
            Py_ssize_t stop = start + chunk < n ? start + chunk : n;
            u64 *p = pos;
            for (Py_ssize_t i = start; i < stop; i++) { /* the chunk's positions */
                u64 h1 = h[i], h2 = splitmix64(h1) | 1ULL, g = h1;
                for (int j = 0; j < k; j++, g += h2) {
                    u64 bit = (u64)(int64_t)((double)(g >> 11) * scale);
                    *p++ = bit > last ? last : bit;
                }
            }
            /* then their bytes, each prefetched AHEAD probes before it is read: the reads are random over the
             * whole filter, and this keeps that many cache misses in flight (-25% against no prefetching) */
            u64 *end = p;
            for (u64 *q = pos; q < pos + AHEAD && q < end; q++) PREFETCH(b + (*q >> 3));
            p = pos;
            for (Py_ssize_t i = start; i < stop; i++) {
                u8 all = 1;
                for (int j = 0; j < k; j++, p++) {
                    if (p + AHEAD < end) PREFETCH(b + (p[AHEAD] >> 3));
                    all &= (u8)(b[*p >> 3] >> (*p & 7));
                }
                out[i] = all & 1;
            }
            if (insert)
                for (u64 *q = pos; q < p; q++) b[*q >> 3] |= (u8)(1U << (*q & 7));
        }
        Py_END_ALLOW_THREADS
    }
    free(pos);
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&bits);
    PyBuffer_Release(&keys);
    PyBuffer_Release(&found);
    return result;
}

PyDoc_STRVAR(first_occurrences_doc,
"first_occurrences(h1, out, groups)\n--\n\n"
"Write into out[i] (an int32 or int64 buffer) the index of the first occurrence of h1[i]'s value in h1 (a uint64\n"
"buffer of hashes): an open-addressing table of the indices, slots from a hash's top bits. With groups = 8, the keys\n"
"are taken in eight passes by their low 3 bits (equal keys share them), each with a table an eighth the size.");

static PyObject *first_occurrences(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer keys, out;
    int groups;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*w*i", &keys, &out, &groups)) return NULL;
    if (check_items(&keys, 8, "h1")) goto done;
    Py_ssize_t n = keys.len / 8;
    Py_ssize_t width = n ? out.len / n : 4;
    if (!(groups == 1 || groups == 8) || (width != 4 && width != 8) || out.len != n * width ||
        (width == 4 && n >= ((Py_ssize_t)1 << 31))) {
        PyErr_Format(PyExc_ValueError, "first_occurrences: %zd keys, %zd bytes of answers, %d groups", n, out.len, groups);
        goto done;
    }
    {
        const u64 *h = (const u64 *)keys.buf;
        u64 count[8] = {0};
        for (Py_ssize_t i = 0; i < n; i++) count[groups == 8 ? (h[i] & 7) : 0]++;
        u64 most = 0;
        for (int g = 0; g < 8; g++) most = count[g] > most ? count[g] : most;
        u64 size = most + most / 2 + 8; /* at most two thirds full */
        int64_t *table = (int64_t *)malloc(sizeof(int64_t) * size);
        if (table == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        int32_t *out32 = (int32_t *)out.buf;
        int64_t *out64 = (int64_t *)out.buf;
        Py_BEGIN_ALLOW_THREADS
        for (int g = 0; g < groups; g++) {
            if (!count[g]) continue;
            u64 slots = count[g] + count[g] / 2 + 8;
            for (u64 j = 0; j < slots; j++) table[j] = -1;
            for (Py_ssize_t i = 0; i < n; i++) {
                u64 v = h[i];
                if (groups == 8 && (int)(v & 7) != g) continue;
#if defined(__SIZEOF_INT128__)
                u64 slot = (u64)(((unsigned __int128)v * slots) >> 64);
#else
                u64 slot = (v >> 3) % slots;
#endif
                int64_t first;
                for (;;) {
                    first = table[slot];
                    if (first < 0) {
                        table[slot] = first = i;
                        break;
                    }
                    if (h[first] == v) break;
                    if (++slot == slots) slot = 0;
                }
                if (width == 4) out32[i] = (int32_t)first;
                else out64[i] = first;
            }
        }
        Py_END_ALLOW_THREADS
        free(table);
    }
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&keys);
    PyBuffer_Release(&out);
    return result;
}

static inline int decimal_digits(u64 v) {
    int d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

static inline char *put_decimal(char *p, u64 v, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + digits;
}

PyDoc_STRVAR(unit_spans_doc,
"unit_spans(start, end, cuts)\n--\n\n"
"The JSON arrays [[s,e,1],...] of the spans start[i]:end[i] (int64 buffers, non-negative), one bytes object per\n"
"group of rows cuts[g]:cuts[g + 1] (cuts: an ascending int64 buffer from 0 to the number of spans), as a list.");

static PyObject *unit_spans(PyObject *Py_UNUSED(self), PyObject *args) {
    Py_buffer starts, ends, cuts;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*", &starts, &ends, &cuts)) return NULL;
    if (check_items(&starts, 8, "start") || check_items(&ends, 8, "end") || check_items(&cuts, 8, "cuts")) goto done;
    Py_ssize_t n = starts.len / 8, groups = cuts.len / 8 - 1;
    const int64_t *s = (const int64_t *)starts.buf, *e = (const int64_t *)ends.buf, *c = (const int64_t *)cuts.buf;
    if (ends.len / 8 != n || groups < 0 || c[0] != 0 || c[groups] != n) {
        PyErr_Format(PyExc_ValueError, "unit_spans: %zd starts, %zd ends, cuts from %lld to %lld", n, ends.len / 8,
                     groups < 0 ? -1LL : (long long)c[0], groups < 0 ? -1LL : (long long)c[groups]);
        goto done;
    }
    for (Py_ssize_t g = 0; g < groups; g++) {
        if (c[g + 1] < c[g]) {
            PyErr_Format(PyExc_ValueError, "unit_spans: cuts go down at group %zd", g);
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < 0 || e[i] < 0) {
            PyErr_Format(PyExc_ValueError, "unit_spans: span %zd is [%lld, %lld]", i, (long long)s[i], (long long)e[i]);
            goto done;
        }
    }
    result = PyList_New(groups);
    if (result == NULL) goto done;
    for (Py_ssize_t g = 0; g < groups; g++) {
        Py_ssize_t size = 2 + (c[g + 1] > c[g] ? c[g + 1] - c[g] - 1 : 0); /* brackets, commas between spans */
        for (Py_ssize_t i = c[g]; i < c[g + 1]; i++) size += decimal_digits((u64)s[i]) + decimal_digits((u64)e[i]) + 5;
        PyObject *value = PyBytes_FromStringAndSize(NULL, size);
        if (value == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        char *p = PyBytes_AS_STRING(value);
        *p++ = '[';
        for (Py_ssize_t i = c[g]; i < c[g + 1]; i++) {
            if (i > c[g]) *p++ = ',';
            *p++ = '[';
            p = put_decimal(p, (u64)s[i], decimal_digits((u64)s[i]));
            *p++ = ',';
            p = put_decimal(p, (u64)e[i], decimal_digits((u64)e[i]));
            memcpy(p, ",1]", 3);
            p += 3;
        }
        *p++ = ']';
        PyList_SET_ITEM(result, g, value);
    }
done:
    PyBuffer_Release(&starts);
    PyBuffer_Release(&ends);
    PyBuffer_Release(&cuts);
    return result;
}

/* the UTF-8 bytes of a str: an ASCII str's own (no copy), or a new bytes object's in *hold (the caller releases it) */
static const char *utf8_of(PyObject *text, Py_ssize_t *size, PyObject **hold) {
    *hold = NULL;
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "expected str, got %.100s", Py_TYPE(text)->tp_name);
        return NULL;
    }
    if (PyUnicode_IS_ASCII(text)) {
        *size = PyUnicode_GET_LENGTH(text);
        return (const char *)PyUnicode_DATA(text);
    }
    *hold = PyUnicode_AsUTF8String(text);
    if (*hold == NULL) return NULL;
    *size = PyBytes_GET_SIZE(*hold);
    return PyBytes_AS_STRING(*hold);
}

PyDoc_STRVAR(utf8_join_doc,
"utf8_join(texts, sep, sizes)\n--\n\n"
"sep.join(t.encode() for t in texts) for a list of str and a bytes separator, writing each text's number of UTF-8\n"
"bytes into sizes[i] (an int64 buffer): one copy of ASCII text instead of two.");

static PyObject *utf8_join(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *texts, *joined = NULL;
    Py_buffer sep, sizes;
    if (!PyArg_ParseTuple(args, "O!y*w*", &PyList_Type, &texts, &sep, &sizes)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(texts), total = 0;
    PyObject **holds = NULL;
    int64_t *z = (int64_t *)sizes.buf;
    if (sizes.len != n * 8) {
        PyErr_Format(PyExc_ValueError, "utf8_join: %zd texts, %zd bytes of sizes", n, sizes.len);
        goto done;
    }
    holds = (PyObject **)calloc(n ? (size_t)n : 1, sizeof(PyObject *)); /* the non-ASCII texts' UTF-8 */
    if (holds == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t size;
        if (utf8_of(PyList_GET_ITEM(texts, i), &size, &holds[i]) == NULL) goto done;
        z[i] = size;
        total += size + (i ? sep.len : 0);
    }
    joined = PyBytes_FromStringAndSize(NULL, total);
    if (joined == NULL) goto done;
    {
        char *p = PyBytes_AS_STRING(joined);
        for (Py_ssize_t i = 0; i < n; i++) {
            if (i) {
                memcpy(p, sep.buf, (size_t)sep.len);
                p += sep.len;
            }
            PyObject *text = PyList_GET_ITEM(texts, i);
            const char *data = holds[i] ? PyBytes_AS_STRING(holds[i]) : (const char *)PyUnicode_DATA(text);
            memcpy(p, data, (size_t)z[i]);
            p += z[i];
        }
    }
done:
    if (holds != NULL) {
        for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(holds[i]);
        free(holds);
    }
    PyBuffer_Release(&sep);
    PyBuffer_Release(&sizes);
    return joined;
}

/* --- JSON strings to UTF-8 ------------------------------------------------------------------------------------ */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL
/* a byte of w that needs a look: not ASCII, a control character, a quote or a backslash */
static inline u64 special_bytes(u64 w) {
    u64 low = (w - ONES * 0x20) & ~w;              /* bytes below 0x20 (the high bits' bytes are caught anyway) */
    u64 quote = ((w ^ (ONES * 0x22)) - ONES) & ~(w ^ (ONES * 0x22));
    u64 slash = ((w ^ (ONES * 0x5C)) - ONES) & ~(w ^ (ONES * 0x5C));
    return (w | low | quote | slash) & HIGHS;
}

static inline int hex4(const u8 *p, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        u8 c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

/* The UTF-8 text of the JSON string in[0:n] (its quotes included) written to out (room for n bytes), its code
 * points counted: the bytes written, or -1 when the string is not one this takes without a doubt (not a string, an
 * unknown escape, a lone surrogate, a control character, UTF-8 that is not valid: overlong, a surrogate, above
 * U+10FFFF, cut short). The caller then decodes it as msgspec does, errors included. */
static Py_ssize_t json_string_utf8(const u8 *in, Py_ssize_t n, u8 *out, Py_ssize_t *points) {
    if (n < 2 || in[0] != '"' || in[n - 1] != '"') return -1;
    const u8 *p = in + 1, *end = in + n - 1;
    u8 *o = out;
    Py_ssize_t cont = 0; /* continuation bytes written: code points = bytes - cont */
    while (p < end) {
        /* a run of plain bytes (ASCII, not a control character, a quote or a backslash) is copied a block at a time;
         * the output has room for whole blocks: it never outgrows the input */
#if defined(__SSE2__)
        if (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)p);
            _mm_storeu_si128((__m128i *)o, v);
            /* a signed compare with 0x20 finds the control characters and the bytes of non-ASCII text at once */
            unsigned special = (unsigned)_mm_movemask_epi8(_mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));
            if (!special) {
                o += 16;
                p += 16;
                continue;
            }
            int plain = __builtin_ctz(special);
            o += plain;
            p += plain;
        }
#endif
        if (end - p >= 8) {
            u64 w;
            memcpy(&w, p, 8);
            if (!special_bytes(w)) {
                memcpy(o, p, 8);
                o += 8;
                p += 8;
                continue;
            }
        }
        u8 c = *p;
        if (c == '\\') {
            if (end - p < 2) return -1;
            u8 e = p[1];
            p += 2;
            switch (e) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': {
                uint32_t u, low;
                if (end - p < 4 || hex4(p, &u)) return -1;
                p += 4;
                if (u >= 0xDC00 && u <= 0xDFFF) return -1;
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &low) || low < 0xDC00 || low > 0xDFFF)
                        return -1;
                    p += 6;
                    u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00);
                }
                if (u < 0x80) {
                    *o++ = (u8)u;
                } else {
                    u8 *start = o;
                    if (u < 0x800) {
                        *o++ = (u8)(0xC0 | (u >> 6));
                    } else if (u < 0x10000) {
                        *o++ = (u8)(0xE0 | (u >> 12));
                        *o++ = (u8)(0x80 | ((u >> 6) & 0x3F));
                    } else {
                        *o++ = (u8)(0xF0 | (u >> 18));
                        *o++ = (u8)(0x80 | ((u >> 12) & 0x3F));
                        *o++ = (u8)(0x80 | ((u >> 6) & 0x3F));
                    }
                    *o++ = (u8)(0x80 | (u & 0x3F));
                    cont += (o - start) - 1;
                }
                break;
            }
            default:
                return -1;
            }
        } else if (c < 0x20 || c == '"') {
            return -1;
        } else if (c < 0x80) {
            *o++ = c;
            p++;
        } else { /* a UTF-8 sequence, checked as Unicode's table 3-7 says */
            int len;
            u8 lo = 0x80, hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) len = 2;
            else if (c >= 0xE0 && c <= 0xEF) {
                len = 3;
                if (c == 0xE0) lo = 0xA0;
                else if (c == 0xED) hi = 0x9F;
            } else if (c >= 0xF0 && c <= 0xF4) {
                len = 4;
                if (c == 0xF0) lo = 0x90;
                else if (c == 0xF4) hi = 0x8F;
            } else return -1;
            if (end - p < len || p[1] < lo || p[1] > hi) return -1;
            for (int i = 2; i < len; i++)
                if ((p[i] & 0xC0) != 0x80) return -1;
            memcpy(o, p, (size_t)len);
            o += len;
            p += len;
            cont += len - 1;
        }
    }
    *points = (o - out) - cont;
    return o - out;
}

PyDoc_STRVAR(json_text_hashes_doc,
"json_text_hashes(raws, seed, hashes, sizes, points)\n--\n\n"
"For each item of the list raws (buffers holding a JSON string, as msgspec.Raw does), write XXH3-64 of the string's\n"
"UTF-8 text (with the seed) into hashes[i], its bytes into sizes[i] and its code points into points[i]: decoding,\n"
"encoding and hashing in one pass. Returns -1, or the index of the first item that is not a string this takes\n"
"without a doubt (see json_string_utf8), whose answers and those after it are not written.");

static PyObject *json_text_hashes(PyObject *Py_UNUSED(self), PyObject *args) {
    PyObject *raws;
    unsigned long long seed;
    Py_buffer hashes, sizes, points;
    PyObject *result = NULL;
    u8 *scratch = NULL;
    if (!PyArg_ParseTuple(args, "O!Kw*w*w*", &PyList_Type, &raws, &seed, &hashes, &sizes, &points)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(raws), room = 0, refused = -1;
    if (hashes.len != n * 8 || sizes.len != n * 8 || points.len != n * 8) {
        PyErr_Format(PyExc_ValueError, "json_text_hashes: %zd items, answers of %zd, %zd and %zd bytes", n, hashes.len,
                     sizes.len, points.len);
        goto done;
    }
    {
        u8 custom[192];
        const u8 *sec = secret_of(seed, custom);
        u64 *h = (u64 *)hashes.buf;
        int64_t *z = (int64_t *)sizes.buf, *cp = (int64_t *)points.buf;
        for (Py_ssize_t i = 0; i < n && refused < 0; i++) {
            Py_buffer raw;
            if (PyObject_GetBuffer(PyList_GET_ITEM(raws, i), &raw, PyBUF_SIMPLE)) goto done;
            if (raw.len > room) {
                free(scratch);
                room = raw.len + 64; /* the text is never longer than its JSON */
                scratch = (u8 *)malloc((size_t)room);
                if (scratch == NULL) {
                    PyBuffer_Release(&raw);
                    PyErr_NoMemory();
                    goto done;
                }
            }
            Py_ssize_t count = 0, size = json_string_utf8((const u8 *)raw.buf, raw.len, scratch, &count);
            PyBuffer_Release(&raw);
            if (size < 0) {
                refused = i;
            } else {
                h[i] = xxh3_64(scratch, (size_t)size, (u64)seed, sec);
                z[i] = size;
                cp[i] = count;
            }
        }
    }
    result = PyLong_FromSsize_t(refused);
done:
    free(scratch);
    PyBuffer_Release(&hashes);
    PyBuffer_Release(&sizes);
    PyBuffer_Release(&points);
    return result;
}

static PyMethodDef methods[] = {
    {"xxh3_slices", xxh3_slices, METH_VARARGS, xxh3_slices_doc},
    {"bloom_mark", bloom_mark, METH_VARARGS, bloom_mark_doc},
    {"first_occurrences", first_occurrences, METH_VARARGS, first_occurrences_doc},
    {"unit_spans", unit_spans, METH_VARARGS, unit_spans_doc},
    {"utf8_join", utf8_join, METH_VARARGS, utf8_join_doc},
    {"json_text_hashes", json_text_hashes, METH_VARARGS, json_text_hashes_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_kernels", "Dedupe's hot loops in C (see dolma.dedup.kernels).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
