/* odb: not written yet. */
