/* The process-wide registry of loaded PKCS#11 modules. */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/internal.h"
#include <p11-kit/p11-kit.h>
#include "ports/module.h"

#ifndef FB_P11KIT_PROXY
#define FB_P11KIT_PROXY "p11-kit-proxy.so"
#endif

struct fb_module {
    char *path; /* as resolved by realpath(), the registry's key */
    void *dl;
    CK_FUNCTION_LIST_PTR f;
    int refs;
    int finalize; /* this library initialised the module, so it finalises it */
    fb_module *next;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static fb_module *registry;

const char *fb_module_default_path(void)
{
    return FB_P11KIT_PROXY;
}

CK_FUNCTION_LIST_PTR fb_module_functions(const fb_module *mod)
{
    return mod->f;
}

const char *fb_module_path(const fb_module *mod)
{
    return mod->path;
}

static int load(const char *path, fb_module *m)
{
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl)
        return fb_fail(FB_ETOKEN, "cannot load PKCS#11 module %s: %s", path, dlerror());
    CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
    if (!get || get(&m->f) != CKR_OK || !m->f)
        return fb_fail(FB_ETOKEN, "%s is not a PKCS#11 module (no C_GetFunctionList)", path);
    /* OS locking: ports call the module from several threads at once. */
    CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
    CK_RV rv = m->f->C_Initialize(&args);
    if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED)
        return FB_OK;
    if (rv != CKR_OK)
        return fb_fail(FB_ETOKEN, "PKCS#11 module %s: C_Initialize failed: %s", path,
                       fb_ckr_name(rv));
    m->finalize = 1;
    return FB_OK;
}

int fb_module_reinitialize(fb_module *mod)
{
    pthread_mutex_lock(&registry_lock);
    int rc = FB_ERROR;
    if (mod->refs == 1 && mod->finalize) {
        CK_C_INITIALIZE_ARGS args = { .flags = CKF_OS_LOCKING_OK };
        mod->f->C_Finalize(NULL);
        CK_RV rv = mod->f->C_Initialize(&args);
        rc = rv == CKR_OK ? FB_OK : FB_ETOKEN;
        /* Not initialised now: nothing to finalise at release. */
        mod->finalize = rv == CKR_OK;
    }
    pthread_mutex_unlock(&registry_lock);
    return rc;
}

static void unload(fb_module *m)
{
    if (m->finalize)
        m->f->C_Finalize(NULL);
    if (m->dl)
        dlclose(m->dl);
    free(m->path);
    free(m);
}

static fb_module *find(const char *path)
{
    for (fb_module *m = registry; m; m = m->next)
        if (!strcmp(m->path, path))
            return m;
    return NULL;
}

int fb_module_acquire(const char *path, fb_module **out)
{
    char real[PATH_MAX];
    /* A bare file name ("p11-kit-proxy.so") is left to the dynamic loader. */
    const char *key = strchr(path, '/') && realpath(path, real) ? real : path;
    pthread_mutex_lock(&registry_lock);
    fb_module *m = find(key);
    int rc = FB_OK;
    if (!m) {
        m = calloc(1, sizeof *m);
        rc = !m ? fb_fail_oom() : !(m->path = fb_strdup(key)) ? FB_ENOMEM : load(key, m);
        if (rc) {
            if (m)
                unload(m);
            m = NULL;
        } else {
            m->next = registry;
            registry = m;
        }
    }
    if (m)
        m->refs++;
    pthread_mutex_unlock(&registry_lock);
    *out = m;
    return rc;
}

void fb_module_release(fb_module *mod)
{
    if (!mod)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--mod->refs == 0) {
        for (fb_module **p = &registry; *p; p = &(*p)->next)
            if (*p == mod) {
                *p = mod->next;
                break;
            }
        unload(mod);
    }
    pthread_mutex_unlock(&registry_lock);
}

const char *fb_ckr_name(CK_RV rv)
{
    static const struct { CK_RV rv; const char *name; } names[] = {
        { CKR_OK, "CKR_OK" },
        { CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
        { CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
        { CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
        { CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
        { CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
        { CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
        { CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
        { CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
        { CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
        { CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED" },
        { CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
        { CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
        { CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
        { CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
        { CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
        { CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
        { CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
        { CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
        { CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
        { CKR_PIN_INVALID, "CKR_PIN_INVALID" },
        { CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
        { CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
        { CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
        { CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
        { CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
        { CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
        { CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
        { CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
        { CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
        { CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
        { CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
        { CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
        { CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
        { CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
        { CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
    };
    for (size_t i = 0; i < FB_ARRAY_LEN(names); i++)
        if (names[i].rv == rv)
            return names[i].name;
    static _Thread_local char other[32];
    snprintf(other, sizeof other, "CKR 0x%08lX", (unsigned long)rv);
    return other;
}

int fb_module_path_for_name(const char *name, char **path)
{
    /* p11-kit knows the modules registered on this machine by name. */
    CK_FUNCTION_LIST **mods = p11_kit_modules_load(NULL, 0);
    CK_FUNCTION_LIST *m = mods ? p11_kit_module_for_name(mods, name) : NULL;
    char *file = m ? p11_kit_module_get_filename(m) : NULL;
    int rc = FB_OK;
    if (!file)
        rc = fb_fail(FB_ENOTFOUND, "no PKCS#11 module named \"%s\" is registered with p11-kit",
                     name);
    else if (!(*path = fb_strdup(file)))
        rc = FB_ENOMEM;
    free(file);
    if (mods)
        p11_kit_modules_release(mods);
    return rc;
}
