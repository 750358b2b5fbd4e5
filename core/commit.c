/* commit: not written yet. */
