// SwiftPM links an executable target with `--defsym main=<module>_main` (so that tests can link
// the executable's code); a target without @main defines no kcheck_fuzz_main, so this does: it
// hands the process to libFuzzer's driver with the input callback of Fuzz.swift. Were the
// renaming gone, libFuzzer's own main (linked by -sanitize=fuzzer) would run instead, the same.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

int kcheck_fuzz_main(int argc, char **argv) { return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput); }
