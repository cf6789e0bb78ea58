/* The port's certificate as OpenSSL holds it, for the parts of the library
 * that sign at a port. On OpenSSL 3.0 decoding a certificate costs more
 * than a P-256 signature, so signing code borrows the port's decoded copy
 * rather than decoding fb_port_certificate() on every bill. */
#ifndef FB_PORTX509_H
#define FB_PORTX509_H

#include <openssl/x509.h>
#include "fiscalbill/port.h"

/* Borrowed: valid until fb_port_close. Read-only use from any thread. */
X509 *fb_port_x509(const fb_port *port);

#endif
