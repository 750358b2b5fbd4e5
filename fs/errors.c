/* The one place where core error codes become errno values for the kernel. */
#include "fs_internal.h"

#include "error.h"
#include "log.h"

#include <errno.h>

/* The errno of a core code, without a word in the log. */
static int to_errno(int code)
{
	switch (code) {
	case UG_OK:
		return 0;
	case UG_ENOTFOUND:
	case UG_EAMBIGUOUS:
		return ENOENT;
	case UG_ENOMEM:
		return ENOMEM;
	case UG_ENOSPC:
		return ENOSPC;
	case UG_EEXISTS:
		return EEXIST;
	case UG_EINVALID:
		return EINVAL;
	case UG_ECONFLICT:
		return EBUSY;
	default:
		return EIO;
	}
}

int ugfs_errno(int code)
{
	int e = to_errno(code);

	/* corrupt or unreadable data: one log line, the core's message names the object */
	if (e == EIO)
		ug_log(UG_LOG_ERROR, "%s", ug_error_last());
	return e;
}

int ugfs_err(int code)
{
	return -to_errno(code);
}
