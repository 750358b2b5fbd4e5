/* ugtool: inspect a repository through the core, for tests and benchmarks (not installed). */
int main(void) { return 0; }
