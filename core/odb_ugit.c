/* odb_ugit: not written yet. */
