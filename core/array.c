/* Growing arrays (array.h). */
#include "array.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

void *ug_array__realloc(void *v, size_t *cap, size_t need, size_t elem, size_t first)
{
	size_t n = *cap <= SIZE_MAX / 2 ? *cap * 2 : SIZE_MAX;
	void *p;

	if (n < first)
		n = first;
	if (n < need)
		n = need;
	if (elem && n > SIZE_MAX / elem) {
		errno = ENOMEM;
		return NULL;
	}
	p = realloc(v, n * elem);
	if (p)
		*cap = n;
	return p;
}
