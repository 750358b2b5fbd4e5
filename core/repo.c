/* repo: not written yet. */
