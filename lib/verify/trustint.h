/* The trust object, shared by its loaders (trust.c) and path checks
 * (chain.c). */
#ifndef FB_TRUSTINT_H
#define FB_TRUSTINT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <openssl/x509.h>
#include "verify/chain.h"

/* Paths already built, by leaf certificate: verifying thousands of bills
 * from a few hundred issuers builds each path once. */
#define FB_PATH_CACHE_SIZE 4096

typedef struct fb_path_entry {
    bool used;
    uint8_t leaf[32];     /* SHA-256 of the leaf's DER */
    int64_t not_before;   /* the latest notBefore on the path */
    int64_t not_after;    /* the earliest notAfter on the path */
    char nb_subject[200]; /* whose notBefore / notAfter that is */
    char na_subject[200];
} fb_path_entry;

struct fb_trust {
    X509_STORE *store;
    STACK_OF(X509) *intermediates;
    size_t anchors;
    int crls;
    char *sm2_id;
    pthread_mutex_t paths_lock;
    fb_path_entry *paths;
    fb_certcache *certs;  /* carried certificates, decoded once */
};

#endif
