/* refs_git: not written yet. */
