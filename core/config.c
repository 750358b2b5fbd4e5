/* config: not written yet. */
