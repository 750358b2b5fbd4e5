/* refs_ugit: not written yet. */
