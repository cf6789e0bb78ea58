/* Ports, whatever holds their key: opening by URI, hashing on the host,
 * normalising and verifying every signature before it is returned. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/pem.h>
#include "common/internal.h"
#include "common/sigpipe.h"
#include "ports/portint.h"
#include "ports/portx509.h"

int fb_port_read_cert(const char *path, X509 **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fb_fail(FB_EIO, "cannot read the certificate %s", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    if (!x) {
        rewind(f);
        x = d2i_X509_fp(f, NULL);
    }
    fclose(f);
    if (!x)
        return fb_fail(FB_EFORMAT, "%s is not a certificate (PEM or DER)", path);
    *out = x;
    return FB_OK;
}

int fb_port_set_cert(fb_port *port, X509 *cert, bool pss)
{
    port->cert = cert;
    port->pub = X509_get_pubkey(cert);
    int n = i2d_X509(cert, NULL);
    if (!port->pub || n <= 0)
        return fb_fail(FB_EFORMAT, "the certificate has no usable public key");
    uint8_t *p = port->cert_der = malloc((size_t)n);
    if (!p)
        return fb_fail_oom();
    port->cert_len = (size_t)i2d_X509(cert, &p);
    fb_alg_name_line(X509_get_subject_name(cert), port->subject, sizeof port->subject);
    return fb_alg_for_key(port->pub, pss, &port->alg);
}

static void port_free(fb_port *port)
{
    if (port->backend && port->impl)
        port->backend->close(port->impl);
    X509_free(port->cert);
    EVP_PKEY_free(port->pub);
    free(port->cert_der);
    free(port->sm2_id);
    pthread_mutex_destroy(&port->lock);
    free(port);
}

int fb_port_open(fb_port **out, const char *uri, const fb_port_options *options)
{
    if (!out || !uri)
        return fb_fail(FB_EARG, "fb_port_open: NULL argument");
    *out = NULL;
    fb_port *port = calloc(1, sizeof *port);
    if (!port)
        return fb_fail_oom();
    pthread_mutex_init(&port->lock, NULL);
    const char *id = options && options->sm2_id ? options->sm2_id : FB_SM2_DEFAULT_ID;
    int rc = FB_OK;
    if (strlen(id) > FB_SM2_ID_MAX)
        rc = fb_fail(FB_EARG, "fb_port_open: the SM2 user ID of %zu bytes is longer than %d",
                     strlen(id), FB_SM2_ID_MAX);
    else if (!(port->sm2_id = fb_strdup(id)))
        rc = FB_ENOMEM;
    if (rc == FB_OK && !strncmp(uri, "file:", 5))
        rc = fb_soft_open(port, uri + 5, options);
    else if (rc == FB_OK && !strncmp(uri, "pkcs11:", 7)) {
        fb_sigpipe_guard guard;
        fb_sigpipe_block(&guard);
        rc = fb_p11_open(port, uri, options);
        fb_sigpipe_restore(&guard);
    }
    else if (rc == FB_OK)
        rc = fb_fail(FB_EARG, "a port is named by a pkcs11: or file: URI");
    if (rc) {
        port_free(port);
        return rc;
    }
    *out = port;
    return FB_OK;
}

void fb_port_close(fb_port *port)
{
    if (port)
        port_free(port);
}

/* Token output to the DER form fiscalbill hands out. */
static int normalise(const fb_port *port, const uint8_t *raw, size_t raw_len, uint8_t *der,
                     size_t *der_len)
{
    if (port->alg == FB_SIG_RSA_SHA256 || port->alg == FB_SIG_RSA_PSS_SHA256) {
        if (raw_len != (size_t)EVP_PKEY_get_size(port->pub))
            return fb_fail(FB_ECRYPTO, "%s: the token returned %zu bytes for an RSA signature "
                           "of %d", port->description, raw_len, EVP_PKEY_get_size(port->pub));
        memcpy(der, raw, raw_len);
        *der_len = raw_len;
        return FB_OK;
    }
    int rc = fb_alg_ec_to_der(raw, raw_len, 32, der, der_len);
    return rc ? fb_fail(rc, "%s: %s", port->description, fb_last_error()) : FB_OK;
}

int fb_port_sign(fb_port *port, const void *msg, size_t msg_len, uint8_t *sig, size_t *sig_len)
{
    if (!port || (!msg && msg_len) || !sig || !sig_len)
        return fb_fail(FB_EARG, "fb_port_sign: NULL argument");
    uint8_t dgst[FB_DIGEST_MAX], raw[FB_RAW_SIG_MAX], der[FB_RAW_SIG_MAX];
    size_t raw_len = sizeof raw, der_len = 0;
    /* Hashing needs no lock: only the token calls are serialised. */
    int rc = fb_alg_digest(port->alg, port->pub, port->sm2_id, msg, msg_len, dgst);
    if (!rc) {
        fb_sigpipe_guard guard;
        fb_sigpipe_block(&guard);
        pthread_mutex_lock(&port->lock);
        rc = port->backend->sign(port->impl, msg, msg_len, dgst, raw, &raw_len);
        pthread_mutex_unlock(&port->lock);
        fb_sigpipe_restore(&guard);
    }
    /* A module that claims more bytes than the buffer it was given is
     * broken; nothing past the buffer may be read. */
    if (!rc && raw_len > sizeof raw)
        rc = fb_fail(FB_ETOKEN, "%s: the token claims a signature of %zu bytes in a buffer of "
                     "%zu; it was discarded", port->description, raw_len, sizeof raw);
    if (!rc)
        rc = normalise(port, raw, raw_len, der, &der_len);
    /* Sign-then-verify: a token that returns a wrong signature (a software
     * fallback, a wrong SM2 ID, a key that is not the certificate's) must
     * never produce a bill. */
    if (!rc && fb_alg_verify_digest(port->alg, port->pub, dgst, der, der_len))
        rc = fb_fail(FB_ECRYPTO, "%s: the signature the token returned does not verify with "
                     "the certificate's public key; it was discarded", port->description);
    if (!rc && *sig_len < der_len) {
        rc = fb_fail(FB_EARG, "fb_port_sign: the signature needs %zu bytes, the buffer has %zu",
                     der_len, *sig_len);
        *sig_len = der_len;
    } else if (!rc) {
        memcpy(sig, der, der_len);
        *sig_len = der_len;
    }
    return rc;
}

size_t fb_port_signature_max(const fb_port *port)
{
    return port ? fb_alg_signature_max(port->alg, port->pub) : 0;
}

fb_sig_alg fb_port_algorithm(const fb_port *port)
{
    return port ? port->alg : FB_SIG_SM2_SM3;
}

const uint8_t *fb_port_certificate(const fb_port *port, size_t *len)
{
    if (len)
        *len = port ? port->cert_len : 0;
    return port ? port->cert_der : NULL;
}

X509 *fb_port_x509(const fb_port *port)
{
    return port ? port->cert : NULL;
}

const char *fb_port_sm2_id(const fb_port *port)
{
    return port && port->alg == FB_SIG_SM2_SM3 ? port->sm2_id : NULL;
}

const char *fb_port_describe(const fb_port *port)
{
    return port ? port->description : "";
}

const char *fb_port_subject(const fb_port *port)
{
    return port ? port->subject : "";
}

const char *fb_port_profile(const fb_port *port)
{
    return port ? port->profile : "";
}
