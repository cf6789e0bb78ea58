/* The port object shared by the generic part (port.c) and its two
 * back-ends: PKCS#11 tokens (p11port.c) and key files (softport.c). */
#ifndef FB_PORTINT_H
#define FB_PORTINT_H

#include <pthread.h>
#include <stdbool.h>
#include <openssl/x509.h>
#include "fiscalbill/port.h"
#include "ports/alg.h"

/* Token output can be an RSA signature of up to 8192 bits. */
#define FB_RAW_SIG_MAX 1024

typedef struct fb_port_backend {
    /* Sign: dgst is the host's digest (SM2: e); msg is passed for tokens
     * that hash themselves. Writes the token's output, unnormalised. */
    int (*sign)(void *impl, const uint8_t *msg, size_t msg_len, const uint8_t *dgst,
                uint8_t *out, size_t *out_len);
    void (*close)(void *impl);
} fb_port_backend;

struct fb_port {
    pthread_mutex_t lock; /* serialises this port's token calls */
    const fb_port_backend *backend;
    void *impl;
    X509 *cert;
    EVP_PKEY *pub;
    uint8_t *cert_der;
    size_t cert_len;
    fb_sig_alg alg;
    char *sm2_id;
    char profile[32];
    char subject[256];
    char description[320];
};

/* Install the certificate (taking ownership) and derive the algorithm:
 * SM2, ECDSA P-256 or RSA (PSS when pss). */
int fb_port_set_cert(fb_port *port, X509 *cert, bool pss);

/* Read a certificate file, PEM or DER. */
int fb_port_read_cert(const char *path, X509 **out);

int fb_soft_open(fb_port *port, const char *path, const fb_port_options *options);
int fb_p11_open(fb_port *port, const char *uri, const fb_port_options *options);

#endif
