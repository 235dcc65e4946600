/* fuzz_main.h - the replay main() shared by the fuzz harnesses.
 *
 * Built with clang -fsanitize=fuzzer the harnesses are libFuzzer targets.
 * Built with -DFUZZ_REPLAY (any compiler, no libFuzzer), main() below feeds
 * every file named on the command line, or found directly inside a named
 * folder, to LLVMFuzzerTestOneInput once: that is how "make check" replays
 * tests/fuzz/corpus/ and tests/fuzz/regress/ under gcc, ASan or valgrind.
 * A crash or sanitizer report fails the run; the file being replayed is
 * printed first so the failure names its input.
 */
#ifndef VCPUCTL_FUZZ_MAIN_H
#define VCPUCTL_FUZZ_MAIN_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_REPLAY
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int fuzz_replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (cap - len < 65536) {
			uint8_t *nbuf = realloc(buf, cap + 65536);

			if (!nbuf) {
				fclose(f);
				free(buf);
				fprintf(stderr, "replay: %s: out of memory\n", path);
				return -1;
			}
			buf = nbuf;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	fclose(f);
	fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	LLVMFuzzerTestOneInput(buf, len);
	free(buf);
	return 0;
}

/* Files in a folder, in name order so runs are repeatable. */
static int fuzz_replay_dir(const char *dir, unsigned *count)
{
	struct dirent **names;
	char path[4096];
	int n, i, rc = 0;

	n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		if (names[i]->d_name[0] != '.' && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode)) {
			if (fuzz_replay_file(path) < 0)
				rc = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			if (fuzz_replay_dir(argv[i], &count) < 0)
				rc = 1;
		} else if (fuzz_replay_file(argv[i]) < 0) {
			rc = 1;
		} else {
			count++;
		}
	}
	fprintf(stderr, "replay: %s: %u inputs, no crash\n", argv[0], count);
	return rc;
}
#endif

#endif
