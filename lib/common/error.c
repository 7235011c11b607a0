/* error.c - status strings and the thread-local error detail. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

static _Thread_local char last_error[512];

int se_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

void se_clear_error(void) { last_error[0] = '\0'; }

const char *softent_last_error(void) { return last_error; }

const char *softent_strerror(int status)
{
    switch (status) {
    case SOFTENT_OK: return "ok";
    case SOFTENT_E_INVALID: return "invalid argument";
    case SOFTENT_E_NOMEM: return "out of memory";
    case SOFTENT_E_IO: return "input/output error";
    case SOFTENT_E_FORMAT: return "malformed file";
    case SOFTENT_E_ORDER: return "call out of order";
    case SOFTENT_E_MISMATCH: return "inputs do not match";
    case SOFTENT_E_NUMERIC: return "numerical method failed";
    case SOFTENT_E_LIMIT: return "memory limit exceeded";
    case SOFTENT_E_EMPTY: return "no usable rows";
    case SOFTENT_E_INTERRUPTED: return "interrupted";
    default: return "unknown error";
    }
}
