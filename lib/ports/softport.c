/* file: ports: a private key in a PEM file, for signing servers, tests and
 * the demo. The certificate comes from options->cert_path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include "common/internal.h"
#include "ports/portint.h"

typedef struct soft {
    EVP_PKEY *key;
    fb_sig_alg alg;
} soft;

static int soft_sign(void *impl, const uint8_t *msg, size_t msg_len, const uint8_t *dgst,
                     uint8_t *out, size_t *out_len)
{
    soft *s = impl;
    return fb_alg_sign_digest(s->alg, s->key, dgst, out, out_len);
}

static void soft_close(void *impl)
{
    soft *s = impl;
    EVP_PKEY_free(s->key);
    free(s);
}

static const fb_port_backend soft_backend = { soft_sign, soft_close };

static int read_key(const char *path, EVP_PKEY **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EIO, "cannot read the key file %s", path);
    *out = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return *out ? FB_OK : fb_fail(FB_EFORMAT, "%s is not an unencrypted PEM private key", path);
}

int fb_soft_open(fb_port *port, const char *path, const fb_port_options *o)
{
    if (!o || !o->cert_path)
        return fb_fail(FB_EARG, "file:%s: a key file needs its certificate (cert_path)", path);
    soft *s = calloc(1, sizeof *s);
    if (!s)
        return fb_fail_oom();
    port->impl = s;
    port->backend = &soft_backend;
    X509 *cert = NULL;
    int rc = read_key(path, &s->key);
    if (!rc)
        rc = fb_port_read_cert(o->cert_path, &cert);
    if (!rc)
        rc = fb_port_set_cert(port, cert, o->rsa_pss);
    else
        X509_free(cert);
    if (!rc && EVP_PKEY_eq(s->key, port->pub) != 1)
        rc = fb_fail(FB_ECRYPTO, "file:%s: the key is not the one certified by %s", path,
                     o->cert_path);
    if (rc)
        return rc;
    s->alg = port->alg;
    snprintf(port->profile, sizeof port->profile, "software");
    snprintf(port->description, sizeof port->description, "key file %s (%s)", path,
             fb_sig_alg_name(port->alg));
    return FB_OK;
}
