/* Error records: formatting, prefixing context, status names. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tsflow/error.h"

void tsf_err_clear(tsf_err *err)
{
    if (!err)
        return;
    err->code = TSF_OK;
    err->msg[0] = '\0';
    err->field = NULL;
}

int tsf_err_set(tsf_err *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->field = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int tsf_err_set_field(tsf_err *err, const char *field, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int tsf_err_prefix(tsf_err *err, const char *fmt, ...)
{
    if (!err)
        return TSF_OK;
    if (err->code == TSF_OK)
        return TSF_OK;
    char prefix[TSF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err->code;
    /* Truncation is acceptable: the message stays NUL-terminated and starts with context. */
    char joined[TSF_ERR_MSG_MAX];
    size_t np = strlen(prefix), nm = strlen(err->msg);
    if (np > sizeof joined - 3)
        np = sizeof joined - 3;
    memcpy(joined, prefix, np);
    memcpy(joined + np, ": ", 2);
    if (nm > sizeof joined - np - 3)
        nm = sizeof joined - np - 3;
    memcpy(joined + np + 2, err->msg, nm);
    joined[np + 2 + nm] = '\0';
    memcpy(err->msg, joined, sizeof joined);
    return err->code;
}

const char *tsf_status_name(int code)
{
    switch (code) {
    case TSF_OK:
        return "OK";
    case TSF_EINVAL:
        return "EINVAL";
    case TSF_EIO:
        return "EIO";
    case TSF_EFORMAT:
        return "EFORMAT";
    case TSF_ENOMEM:
        return "ENOMEM";
    case TSF_ENUMERIC:
        return "ENUMERIC";
    case TSF_ETYPE:
        return "ETYPE";
    case TSF_EPLUGIN:
        return "EPLUGIN";
    case TSF_ECANCEL:
        return "ECANCEL";
    }
    return "EUNKNOWN";
}
