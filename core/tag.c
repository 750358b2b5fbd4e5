/* tag: not written yet. */
