/* odb_pack: not written yet. */
