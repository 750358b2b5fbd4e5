/* tree: not written yet. */
