/* pack: not written yet. */
