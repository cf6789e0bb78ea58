/* Finding tokens and objects in a PKCS#11 module. */
#ifndef FB_TOKEN_H
#define FB_TOKEN_H

#include <stdbool.h>
#include <p11-kit/pkcs11.h>
#include "ports/p11uri.h"

typedef struct fb_token_ident {
    char label[33];
    char serial[17];
    char manufacturer[33];
    char model[17];
    CK_FLAGS flags;
} fb_token_ident;

/* The slots of a module (present: only those with a token), in a new array
 * (NULL when there are none): asked for their count first, asked again if
 * the list grows meanwhile, at most 4096. FB_ENOTFOUND when the module says
 * no token is present, FB_ETOKEN otherwise. */
int fb_token_slot_list(CK_FUNCTION_LIST_PTR f, bool present, CK_SLOT_ID **slots, size_t *n);

/* The one token the URI names. Slots are walked one by one: a slot that
 * fails is noted and skipped, never fatal for the others. FB_ENOTFOUND
 * lists the tokens seen; FB_EAMBIGUOUS lists the matches. Every slot with a
 * token is searched; a module reporting more than 4096 is FB_ETOKEN, never
 * searched in part. */
int fb_token_find(CK_FUNCTION_LIST_PTR f, const fb_p11uri *uri, CK_SLOT_ID *slot,
                  fb_token_ident *ident);

/* The token info of a slot now (for its flags). */
int fb_token_info(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, fb_token_ident *ident, CK_RV *rv);

/* The one private key matching id/label (either may be NULL). */
int fb_token_find_key(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const uint8_t *id,
                      size_t id_len, const char *label, CK_OBJECT_HANDLE *key);

/* An attribute of an object into a new buffer. FB_ENOTFOUND (no message)
 * when it is absent, unreadable or over 64 KiB; FB_ETOKEN when the module
 * claims more bytes than the room it was given. */
int fb_token_attr(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE obj,
                  CK_ATTRIBUTE_TYPE type, uint8_t **value, size_t *len);

/* The X.509 certificate with this CKA_ID, DER. FB_ENOTFOUND when none. */
int fb_token_find_cert(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, const uint8_t *id,
                       size_t id_len, uint8_t **der, size_t *len);

/* The mechanisms of a slot, at most 4096; FB_ETOKEN when they cannot be
 * listed. */
int fb_token_mechanisms(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE **mechs,
                        size_t *n);

/* PIN state flags in words ("few tries left", ...), "" when none. */
const char *fb_token_pin_words(CK_FLAGS flags);

#endif
