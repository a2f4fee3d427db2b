/*
 * init.c - what every main does first: its name for diagnostics, standard
 * descriptors that are surely open, checked standard output.
 */
#include <fcntl.h>
#include <unistd.h>

#include "base.h"

/*
 * Take the program name, open /dev/null on any of fds 0-2 that is closed,
 * and set up standard output.  A closed fd 1 or 2 gets /dev/null read-only:
 * writing there then fails (EBADF) and is reported, where a file the tool
 * opens later (the reject file) would otherwise take the number and
 * receive the events or the diagnostics.  Returns 0, or -1 when /dev/null
 * cannot be opened.
 */
int
ev_init(const char *argv0)
{
	int fd, r = 0;

	ev_setprogname(argv0);
	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1)
			continue;
		/* open(2) takes the lowest free number: fd itself. */
		if (open("/dev/null", O_RDONLY) != fd)
			r = -1;
	}
	ev_out_init();
	return r;
}
