/* tsf_init: library-wide set-up of the C libraries we sit on.
 *
 * GSL's default error handler calls abort(); HDF5 prints its whole error stack to stderr.
 * Neither is acceptable in a library whose callers decide what users see, so both are turned
 * off here and errors are reported through tsf_err instead (HDF5 via tsf__h5_fail).
 */
#include <hdf5.h>
#include <pthread.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "tsflow/error.h"
#include "core.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_status = TSF_OK;

static void init_libraries(void)
{
    gsl_set_error_handler_off();
    /* libhdf5 1.10's own atexit clean-up crashes (H5F__close_cb) after a failed H5Fclose, e.g.
     * on a full disk; our writers close what they open, so the library needs no exit hook. */
    H5dont_atexit();
    if (H5open() < 0 || H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0)
        init_status = TSF_EIO;
}

int tsf_init(void)
{
    pthread_once(&init_once, init_libraries);
    return init_status;
}

const char *tsf_version(void)
{
    return TSF_VERSION;
}

/* H5Ewalk callback: keep the innermost description (walked first with H5E_WALK_UPWARD, which
 * starts at the function that detected the error; DOWNWARD starts at the API call). */
static herr_t keep_innermost(unsigned n, const H5E_error2_t *e, void *data)
{
    char *buf = data;
    if (n == 0 && e->desc && e->desc[0]) {
        /* The file drivers describe a failed system call as "file write failed: time = ...,
         * filename = ..., file descriptor = 4, errno = 28, error message = '...', buf = 0x...":
         * the call and its error message say it all; the rest (a clock time, an address, the
         * temporary's name) would make the message differ from run to run. */
        const char *colon = strchr(e->desc, ':');
        const char *msg = strstr(e->desc, "error message = '");
        const char *end = msg ? strchr(msg + 17, '\'') : NULL;
        if (colon && msg && end && colon < msg)
            snprintf(buf, 256, "%.*s: %.*s", (int)(colon - e->desc), e->desc, (int)(end - msg - 17),
                     msg + 17);
        else
            snprintf(buf, 256, "%s", e->desc);
    }
    return 0;
}

int tsf__h5_fail(tsf_err *err, int code, const char *fmt, ...)
{
    char what[TSF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char inner[256] = "";
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, inner);
    H5Eclear2(H5E_DEFAULT);
    if (inner[0])
        return tsf_err_set(err, code, "%s (HDF5: %s)", what, inner);
    return tsf_err_set(err, code, "%s", what);
}

hid_t tsf__h5_untimed(hid_t cls)
{
    hid_t pl = H5Pcreate(cls);
    if (pl >= 0 && H5Pset_obj_track_times(pl, 0) < 0) {
        H5Pclose(pl);
        return -1;
    }
    return pl;
}

static _Thread_local size_t close_failures;
static _Thread_local char close_reason[256];

size_t tsf__h5_close_failures(void)
{
    return close_failures;
}

const char *tsf__h5_close_reason(void)
{
    return close_reason;
}

void tsf__h5_close(hid_t id)
{
    if (id < 0)
        return;
    /* Every HDF5 call clears the error stack on entry; keep the error a failed call left, so
     * that tsf__h5_fail after the clean-up still reports why (e.g. "File too large"). */
    hid_t saved = H5Eget_current_stack();
    herr_t closed = 0;
    switch (H5Iget_type(id)) {
    case H5I_DATASET:
        closed = H5Dclose(id);
        break;
    case H5I_GROUP:
        closed = H5Gclose(id);
        break;
    case H5I_DATATYPE:
        closed = H5Tclose(id);
        break;
    case H5I_DATASPACE:
        closed = H5Sclose(id);
        break;
    case H5I_ATTR:
        closed = H5Aclose(id);
        break;
    case H5I_GENPROP_LST:
        closed = H5Pclose(id);
        break;
    default:
        closed = H5Oclose(id);
        break;
    }
    if (closed < 0) {
        close_failures++;
        close_reason[0] = '\0';
        H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, keep_innermost, close_reason);
    }
    if (saved >= 0)
        H5Eset_current_stack(saved);
}
