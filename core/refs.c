/* refs: not written yet. */
