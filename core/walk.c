/* walk: not written yet. */
