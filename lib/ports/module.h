/* PKCS#11 modules, loaded once per process and shared by every port on
 * them. PKCS#11 initialisation is per process by design, so this registry
 * is the library's one piece of global state; it is guarded by a mutex. */
#ifndef FB_MODULE_H
#define FB_MODULE_H

#include <p11-kit/pkcs11.h>

typedef struct fb_module fb_module;

/* Load (or share) the module at path and initialise it for use from many
 * threads. A module another part of the process already initialised is
 * used as it is, and never finalised by this library. */
int fb_module_acquire(const char *path, fb_module **out);

/* Drop one reference; the last one finalises and unloads the module. */
void fb_module_release(fb_module *mod);

/* C_Finalize and C_Initialize again, but only when the caller holds the
 * one reference and fiscalbill initialised the module: never under another
 * port's feet. FB_OK when it was done. */
int fb_module_reinitialize(fb_module *mod);

CK_FUNCTION_LIST_PTR fb_module_functions(const fb_module *mod);
const char *fb_module_path(const fb_module *mod);

/* The module used when a URI names none: p11-kit's proxy, which serves
 * every module registered with p11-kit. */
const char *fb_module_default_path(void);

/* The file of a module registered with p11-kit under this name. */
int fb_module_path_for_name(const char *name, char **path);

/* "CKR_PIN_INCORRECT" and friends, for messages. */
const char *fb_ckr_name(CK_RV rv);

#endif
