/* hash.c - the word and byte hashes (see hash.h). */
#include <string.h>

#include "hash.h"

uint64_t se_hash_words(uint64_t h, const void *data, size_t n)
{
    /* four independent multiply-xor lanes, so that hashing runs at memory
     * speed rather than at one multiply latency a word */
    const unsigned char *bytes = data;
    uint64_t lane[4] = {h, h ^ 0x243F6A8885A308D3ull, h ^ 0x13198A2E03707344ull, h ^ 0xA4093822299F31D0ull};
    size_t words = n / 8, i = 0;
    for (; i + 4 <= words; i += 4)
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy(&w, bytes + 8 * (i + j), 8);
            lane[j] = (lane[j] ^ w) * 0x100000001B3ull;
            lane[j] ^= lane[j] >> 29;
        }
    for (; i <= words; i++) {
        /* the last word may be partial: zero-padded, and n mixed in below */
        uint64_t w = 0;
        memcpy(&w, bytes + 8 * i, i < words ? 8 : n % 8);
        lane[0] = ((lane[0] ^ w) * 0x100000001B3ull) ^ (lane[0] >> 29);
    }
    lane[1] ^= (uint64_t)n;
    return se_mix64(se_mix64(se_mix64(lane[0]) ^ lane[1]) ^ se_mix64(lane[2] ^ se_mix64(lane[3])));
}

uint64_t se_hash_bytes(const void *data, size_t n)
{
    const unsigned char *s = data;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, s, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, s, n);
    h = (h ^ v) * 0x94d049bb133111ebull;
    h ^= h >> 32;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 29);
}
