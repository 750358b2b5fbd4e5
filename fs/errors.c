/* The one place where core error codes become errno values for the kernel. */
#include "fs_internal.h"

#include "error.h"
#include "log.h"

#include <errno.h>

int ugfs_errno(int code)
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
		/* corrupt or unreadable data: one log line, the core's message names the object */
		ug_log(UG_LOG_ERROR, "%s", ug_error_last());
		return EIO;
	}
}
