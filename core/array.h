/* Growing arrays: room for more elements, made one way (doubling, size checked). */
#ifndef UG_ARRAY_H
#define UG_ARRAY_H

#include <stddef.h>

/*
 * Room for need elements of elem bytes in the array v, which has room for
 * *cap: v itself when it has; else v reallocated to the largest of need,
 * twice *cap and first elements, and *cap set to that. NULL when out of
 * memory or when the size in bytes would not fit a size_t: then v and *cap
 * are as they were, and v is still the caller's to free. A NULL v is always
 * allocated, so that NULL means failure only.
 * Thread safety: none needed; it keeps no state.
 */
static inline void *ug_array_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first);

/* The reallocation behind ug_array_grow (which checks the room inline, as
 * most calls find it there). */
void *ug_array__realloc(void *v, size_t *cap, size_t need, size_t elem, size_t first);

static inline void *ug_array_grow(void *v, size_t *cap, size_t need, size_t elem, size_t first)
{
	return need <= *cap && v ? v : ug_array__realloc(v, cap, need, elem, first);
}

#endif
