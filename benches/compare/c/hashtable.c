// A chained hash table of malloc'd string keys: inserts, lookups, updates and deletes.
// Usage: hashtable [operations].
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry { struct entry *next; char *key; long value; };

static struct entry **buckets;
static size_t nbuckets = 1 << 16, count;

static size_t hash(const char *s) {
    size_t h = 1469598103934665603ull & (size_t)-1;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static struct entry **find(const char *key) {
    struct entry **e = &buckets[hash(key) & (nbuckets - 1)];
    while (*e && strcmp((*e)->key, key) != 0) e = &(*e)->next;
    return e;
}

static void put(const char *key, long value) {
    struct entry **e = find(key);
    if (*e) { (*e)->value += value; return; }
    struct entry *n = malloc(sizeof *n);
    n->key = strdup(key);
    n->value = value;
    n->next = NULL;
    *e = n;
    count++;
}

static void del(const char *key) {
    struct entry **e = find(key);
    if (!*e) return;
    struct entry *dead = *e;
    *e = dead->next;
    free(dead->key);
    free(dead);
    count--;
}

int main(int argc, char **argv) {
    long ops = argc > 1 ? atol(argv[1]) : 2000000;
    buckets = calloc(nbuckets, sizeof *buckets);
    char key[32];
    unsigned x = 12345;
    long found = 0;
    for (long i = 0; i < ops; i++) {
        x = x * 1103515245u + 12345u;
        snprintf(key, sizeof key, "key-%u", (x >> 8) % 200000);
        switch (i % 4) {
        case 0: case 1: put(key, i); break;
        case 2: if (*find(key)) found++; break;
        case 3: del(key); break;
        }
    }
    long sum = 0;
    for (size_t b = 0; b < nbuckets; b++)
        for (struct entry *e = buckets[b]; e; e = e->next) sum += e->value % 1000;
    printf("entries %zu, found %ld, sum %ld\n", count, found, sum);
    return 0;
}
