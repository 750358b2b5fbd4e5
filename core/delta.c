/* delta: not written yet. */
