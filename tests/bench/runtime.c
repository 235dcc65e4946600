/* runtime.c - time one whole process for the benchmark.
 *
 *   runtime OUT ERR -- PROGRAM [ARG...]
 *
 * Runs PROGRAM with stdout to OUT and stderr to ERR (files, truncated;
 * "-" keeps ours) and prints "WALL_MS MAXRSS_KIB STATUS" on stdout: wall
 * time from before fork() to after wait4() on CLOCK_MONOTONIC, so fork
 * and exec are included as a user would see them; the child's peak RSS
 * from wait4()'s rusage; its exit status (128+N for signal N).  A shell or
 * Python timer would add its own start-up to every figure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int open_out(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

int main(int argc, char **argv)
{
	struct rusage ru;
	int out = -1, err = -1, status;
	double t0, t1;
	pid_t pid;

	if (argc < 5 || strcmp(argv[3], "--")) {
		fprintf(stderr, "usage: runtime OUT ERR -- PROGRAM [ARG...]\n");
		return 2;
	}
	if ((strcmp(argv[1], "-") && (out = open_out(argv[1])) < 0) ||
	    (strcmp(argv[2], "-") && (err = open_out(argv[2])) < 0)) {
		perror("runtime: open");
		return 2;
	}
	t0 = now_ms();
	pid = fork();
	if (pid < 0) {
		perror("runtime: fork");
		return 2;
	}
	if (pid == 0) {
		if ((out >= 0 && dup2(out, 1) < 0) || (err >= 0 && dup2(err, 2) < 0))
			_exit(127);
		execvp(argv[4], argv + 4);
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			perror("runtime: wait4");
			return 2;
		}
	}
	t1 = now_ms();
	printf("%.3f %ld %d\n", t1 - t0, ru.ru_maxrss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
