/*
 * stop.c - SIGINT and SIGTERM as a request to stop reading.
 *
 * The handler only records the signal and writes a byte to a pipe, both
 * async-signal-safe; the input loop polls the pipe's read end with its
 * input, so a read that would block forever ends at once and the tool
 * writes what it has and exits.  The handler is installed without
 * SA_RESTART, so a blocking open(2) of a fifo is interrupted too, and with
 * SA_RESETHAND, so a second signal kills the tool the usual way.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

static atomic_int stop_sig;
static atomic_int stop_count;		/* signals caught */
static atomic_int stop_catch = 1;	/* how many to catch */
static struct sigaction stop_sa;

static int stop_pipe[2] = {-1, -1};

static void
on_signal(int sig)
{
	int saved = errno, n;
	ssize_t w;

	n = atomic_fetch_add(&stop_count, 1) + 1;
	if (n == 1)
		atomic_store(&stop_sig, sig);
	if (n < atomic_load(&stop_catch))
		sigaction(sig, &stop_sa, NULL);	/* async-signal-safe */
	w = write(stop_pipe[1], "", 1);
	(void)w;	/* full: a byte is there already */
	errno = saved;
}

/*
 * Catch SIGINT and SIGTERM.  Returns 0, or -1 with err set when the pipe
 * or the handler cannot be made.  Calling it again does nothing.
 */
int
ev_stop_install(struct ev_err *err)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	struct sigaction sa;
	size_t i;

	if (stop_pipe[0] >= 0)
		return 0;
	if (pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		ev_err_clear(err);
		ev_err_set(err, "cannot catch signals: %s", strerror(errno));
		ev_err_errno(err, errno);
		stop_pipe[0] = stop_pipe[1] = -1;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&sa.sa_mask, sigs[i]);
	stop_sa = sa;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0) {
			ev_err_clear(err);
			ev_err_set(err, "cannot catch signals: %s",
			    strerror(errno));
			ev_err_errno(err, errno);
			return -1;
		}
	return 0;
}

/*
 * Catch the first n stop signals (default 1: the second one kills).  A
 * tool that lets its work finish after a stop catches 2 and gives up on
 * the work at the second.  Call before ev_stop_install().
 */
void
ev_stop_catch(int n)
{
	atomic_store(&stop_catch, n < 1 ? 1 : n);
}

/* How many stop signals were caught. */
int
ev_stop_count(void)
{
	return atomic_load(&stop_count);
}

/* The signal that asked to stop (the first one), or 0. */
int
ev_stop_signal(void)
{
	return atomic_load_explicit(&stop_sig, memory_order_relaxed);
}

/* The read end of the stop pipe, or -1 when ev_stop_install() was not run. */
int
ev_stop_fd(void)
{
	return stop_pipe[0];
}
