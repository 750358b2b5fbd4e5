/* Error codes of the ugitfs core and the per-thread message that explains the last one. */
#ifndef UG_ERROR_H
#define UG_ERROR_H

/*
 * Every core function that can fail returns int: 0 on success, one of these
 * negative codes on failure. The message of the last failure on this thread is
 * kept until the next ug_error*() call on the same thread.
 */
enum {
	UG_OK = 0,
	UG_ERROR = -1,      /* generic: an I/O error, a system call failed */
	UG_ENOTFOUND = -3,  /* no such object, ref, key, file */
	UG_EEXISTS = -4,    /* it is already there */
	UG_EAMBIGUOUS = -5, /* an abbreviated id matches several objects */
	UG_EINVALID = -6,   /* a bad argument from the caller (ref name, hex, option) */
	UG_ECORRUPT = -7,   /* repository bytes are malformed or hostile */
	UG_ENOMEM = -8,     /* allocation failed, or over a configured limit */
	UG_ECONFLICT = -9,  /* a lock is held or a compare-and-swap lost */
	UG_ENOSPC = -10,    /* the disk is full (or over quota) while writing */
};

/* Set the message (printf format) and return code, so callers can write
 * `return ug_error(UG_ECORRUPT, "bad tree %s", hex);`. */
int ug_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* As ug_error, with ": strerror(errno)" appended; errno ENOSPC/EDQUOT turns
 * code UG_ERROR into UG_ENOSPC and ENOENT into UG_ENOTFOUND. */
int ug_error_os(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Put "PREFIX: " (printf format) before the message of the last failure on
 * this thread and return code, so a low-level message gets the name of what
 * failed (an object, a file). */
int ug_error_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The message of the last failure on this thread; borrowed, valid until the
 * next ug_error*() call on this thread. Never NULL ("" when none). */
const char *ug_error_last(void);

void ug_error_clear(void);

/* A short name of a code ("not found", "corrupt", ...), static storage. */
const char *ug_error_name(int code);

#endif
