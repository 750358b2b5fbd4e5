/* odb_loose: not written yet. */
