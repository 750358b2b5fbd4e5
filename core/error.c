/* The per-thread error message of the ugitfs core. */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char message[1024];

static void vset(const char *fmt, va_list ap)
{
	vsnprintf(message, sizeof(message), fmt, ap);
}

int ug_error(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	return code;
}

int ug_error_os(int code, const char *fmt, ...)
{
	int err = errno;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vset(fmt, ap);
	va_end(ap);
	len = strlen(message);
	snprintf(message + len, sizeof(message) - len, ": %s", strerror(err));
	if (code == UG_ERROR && (err == ENOSPC || err == EDQUOT))
		return UG_ENOSPC;
	if (code == UG_ERROR && err == ENOENT)
		return UG_ENOTFOUND;
	if (code == UG_ERROR && err == ENOMEM)
		return UG_ENOMEM;
	return code;
}

int ug_error_prefix(int code, const char *fmt, ...)
{
	char prefix[512], msg[sizeof(message)];
	va_list ap;

	snprintf(msg, sizeof(msg), "%s", message);
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	if (!msg[0])
		return ug_error(code, "%s", prefix);
	return ug_error(code, "%s: %s", prefix, msg);
}

const char *ug_error_last(void)
{
	return message;
}

void ug_error_clear(void)
{
	message[0] = '\0';
}

const char *ug_error_name(int code)
{
	switch (code) {
	case UG_OK: return "ok";
	case UG_ENOTFOUND: return "not found";
	case UG_EEXISTS: return "exists";
	case UG_EAMBIGUOUS: return "ambiguous";
	case UG_EINVALID: return "invalid";
	case UG_ECORRUPT: return "corrupt";
	case UG_ENOMEM: return "out of memory";
	case UG_ECONFLICT: return "conflict";
	case UG_ENOSPC: return "no space";
	default: return "error";
	}
}
