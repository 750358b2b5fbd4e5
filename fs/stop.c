/* Stopping on a signal: SIGTERM, SIGINT and SIGHUP end the loop only once the background lanes have stopped, while the loop still answers the kernel. */
#include "fs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };

static volatile sig_atomic_t caught; /* the first stop signal, or 0 */
static int wake[2] = { -1, -1 };     /* the handler wakes the stopper through it */
static bool installed[sizeof(stop_signals) / sizeof(stop_signals[0])];
static pthread_t loop_thread, stopper;
static bool stopper_running;
static _Atomic bool loop_ended;

static void on_signal(int sig)
{
	int e = errno;

	if (!caught)
		caught = sig;
	if (write(wake[1], "", 1) < 0) {
		/* the pipe is full: the stopper is awake already */
	}
	errno = e;
}

int stop_install(void)
{
	struct sigaction sa = { .sa_handler = on_signal }, old;

	if (pipe2(wake, O_CLOEXEC) || fcntl(wake[1], F_SETFL, O_NONBLOCK))
		return -1;
	sigemptyset(&sa.sa_mask);
	/* only over the default: a signal ignored by whoever started us (nohup) stays ignored */
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (!sigaction(stop_signals[i], NULL, &old) && old.sa_handler == SIG_DFL)
			installed[i] = !sigaction(stop_signals[i], &sa, NULL);
	if (!sigaction(SIGPIPE, NULL, &old) && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	return 0;
}

void stop_remove(void)
{
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(stop_signals[0]); i++)
		if (installed[i])
			signal(stop_signals[i], SIG_DFL);
	close(wake[0]);
	close(wake[1]);
	wake[0] = wake[1] = -1;
}

/* On the first stop signal: stop the lanes while the loop answers the
 * kernel, then end the loop (waking its thread until it has ended). */
static void *stopper_main(void *arg)
{
	struct fs *fs = arg;
	char c;

	while (read(wake[0], &c, 1) < 0 && errno == EINTR)
		;
	if (!caught)
		return NULL; /* the loop ended without a signal */
	push_stop(fs, false); /* the loop's workers answer what a store waits on */
	fuse_session_exit(fs->se);
	while (!loop_ended) {
		pthread_kill(loop_thread, caught); /* interrupts the loop's wait */
		usleep(50000);
	}
	return NULL;
}

int stop_start(struct fs *fs)
{
	loop_thread = pthread_self();
	loop_ended = false;
	stopper_running = !pthread_create(&stopper, NULL, stopper_main, fs);
	return stopper_running ? 0 : -1;
}

int stop_end(void)
{
	loop_ended = true;
	if (stopper_running) {
		if (!caught && write(wake[1], "", 1) < 0) {
			/* full: the stopper is awake already */
		}
		pthread_join(stopper, NULL);
		stopper_running = false;
	}
	return caught;
}
