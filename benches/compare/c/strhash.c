// An open-addressing hash map from malloc'd string keys to malloc'd string values: string hashing
// (FNV-1a for the slot, djb2 for a stored tag), linear probing with tombstones, a table that starts tiny
// and doubles, and many small malloc/free/realloc calls. Usage: strhash [keys] (default 400000).
// Inserts the keys, looks up present and absent ones, deletes and re-inserts a share, rewrites values,
// and prints counts and a checksum.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot { char *key; char *value; uint32_t tag; };   // key == NULL: empty; key == TOMB: deleted

static char tomb_mark;
#define TOMB (&tomb_mark)

static struct slot *slots;
static size_t cap, used, live;   // used counts live slots and tombstones

static uint32_t fnv1a(const char *s) {
    uint32_t h = 2166136261u;
    while (*s) h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static uint32_t djb2(const char *s) {
    uint32_t h = 5381;
    while (*s) h = h * 33 + (unsigned char)*s++;
    return h;
}

static char *dup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    memcpy(d, s, n);
    return d;
}

// Writes a key of 6 to 30 characters for number i into buf.
static void make_key(char *buf, uint32_t i, uint32_t salt) {
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789_-";
    uint32_t x = i * 2654435761u ^ salt;
    int len = 6 + (int)(x % 25);
    for (int k = 0; k < len; k++) {
        buf[k] = alphabet[x % 38];
        x = x / 38 + (i + 1) * (uint32_t)(k + 7);
    }
    // Keep keys unique: append i in base 36.
    int k = len;
    do { buf[k++] = alphabet[i % 36]; i /= 36; } while (i);
    buf[k] = 0;
}

static void grow(void);

static struct slot *find(const char *key, uint32_t tag, int for_insert) {
    size_t i = fnv1a(key) & (cap - 1);
    struct slot *first_tomb = NULL;
    for (;;) {
        struct slot *s = &slots[i];
        if (!s->key) return for_insert && first_tomb ? first_tomb : s;
        if (s->key == TOMB) {
            if (!first_tomb) first_tomb = s;
        } else if (s->tag == tag && strcmp(s->key, key) == 0) {
            return s;
        }
        i = (i + 1) & (cap - 1);
    }
}

static void insert(const char *key, const char *value) {
    if ((used + 1) * 10 > cap * 7) grow();
    uint32_t tag = djb2(key);
    struct slot *s = find(key, tag, 1);
    if (s->key && s->key != TOMB) {   // present: replace the value
        free(s->value);
        s->value = dup(value);
        return;
    }
    if (!s->key) used++;
    s->key = dup(key);
    s->value = dup(value);
    s->tag = tag;
    live++;
}

static struct slot *lookup(const char *key) {
    struct slot *s = find(key, djb2(key), 0);
    return s->key ? s : NULL;
}

static int erase(const char *key) {
    struct slot *s = lookup(key);
    if (!s) return 0;
    free(s->key);
    free(s->value);
    s->key = TOMB;
    s->value = NULL;
    live--;
    return 1;
}

// Doubles the table (or rebuilds it at the same size when tombstones fill it) and drops tombstones.
static void grow(void) {
    struct slot *old = slots;
    size_t old_cap = cap;
    if (live * 10 > cap * 4 || cap == 0) cap = cap ? cap * 2 : 8;
    slots = calloc(cap, sizeof *slots);
    used = live;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key && old[i].key != TOMB) {
            size_t j = fnv1a(old[i].key) & (cap - 1);
            while (slots[j].key) j = (j + 1) & (cap - 1);
            slots[j] = old[i];
        }
    }
    free(old);
}

int main(int argc, char **argv) {
    uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : 400000;
    char key[64], value[64];
    uint64_t checksum = 0;
    size_t found = 0, erased = 0;

    for (uint32_t i = 0; i < n; i++) {
        make_key(key, i, 0x9e3779b9u);
        make_key(value, i * 7 + 3, 0x85ebca6bu);
        insert(key, value);
    }
    // Lookups: every key once, and as many absent keys.
    for (uint32_t i = 0; i < n; i++) {
        make_key(key, i, 0x9e3779b9u);
        struct slot *s = lookup(key);
        if (s) { found++; checksum += djb2(s->value); }
        make_key(key, i, 0x12345678u);
        if (lookup(key)) found += 1000000;   // never: a different salt gives a different key
    }
    // Delete two keys in three, then re-insert every other deleted key with a new value.
    for (uint32_t i = 0; i < n; i++) {
        if (i % 3 == 0) continue;
        make_key(key, i, 0x9e3779b9u);
        erased += erase(key);
    }
    for (uint32_t i = 0; i < n; i += 2) {
        if (i % 3 == 0) continue;
        make_key(key, i, 0x9e3779b9u);
        make_key(value, i * 13 + 1, 0xc2b2ae35u);
        insert(key, value);
    }
    // Rewrite the values of the first half of the key numbers (present or not: absent ones are
    // inserted).
    for (uint32_t i = 0; i < n / 2; i++) {
        make_key(key, i, 0x9e3779b9u);
        make_key(value, i + n, 0x27d4eb2fu);
        insert(key, value);
    }
    // Walk the table in slot order (the same on every platform) and free everything.
    for (size_t i = 0; i < cap; i++) {
        if (slots[i].key && slots[i].key != TOMB) {
            checksum = checksum * 1099511628211ull + fnv1a(slots[i].key) + djb2(slots[i].value) + i;
            free(slots[i].key);
            free(slots[i].value);
        }
    }
    free(slots);
    printf("strhash: %u keys, %zu found, %zu erased, %zu live, table %zu slots, checksum %llu\n", n, found,
           erased, live, cap, (unsigned long long)checksum);
    return 0;
}
