/*
 * error.h - the library's thread-local error detail.
 *
 * Functions return a softent_status and, on failure, leave a one-line
 * description here for softent_last_error().  Use: return se_fail(code, fmt, ...)
 */
#ifndef SOFTENT_ERROR_H
#define SOFTENT_ERROR_H

#include "softent.h"

int se_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void se_clear_error(void);

#endif
