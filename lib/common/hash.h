/*
 * hash.h - the hashes softent uses, each written once: FNV-1a 64 (file
 * checksums and the token-stream fingerprint that results record, so its
 * values are part of the formats), splitmix64's finaliser (keys, seeds,
 * counter-based draws), a fast word hash for large buffers, and a byte hash
 * for hash tables.
 */
#ifndef SOFTENT_COMMON_HASH_H
#define SOFTENT_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SE_FNV1A64_INIT 0xcbf29ce484222325ull

/* FNV-1a 64 of n bytes, continuing from h (SE_FNV1A64_INIT to start). */
static inline uint64_t se_fnv1a64(uint64_t h, const void *data, size_t n)
{
    const unsigned char *b = data;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* splitmix64: a bijection of 64-bit words that scrambles every bit. */
static inline uint64_t se_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A 64-bit fingerprint of n bytes continuing from h, at memory speed (four
 * independent lanes); not FNV, and not for hash tables of short keys. */
uint64_t se_hash_words(uint64_t h, const void *data, size_t n);

/* A hash of a short byte string, for hash tables. */
uint64_t se_hash_bytes(const void *data, size_t n);

#endif
