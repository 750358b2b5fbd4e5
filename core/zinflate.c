/* zinflate: not written yet. */
