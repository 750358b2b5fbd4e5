/* cache: not written yet. */
