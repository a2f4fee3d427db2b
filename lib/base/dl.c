/*
 * dl.c - shared libraries loaded when first used (ev_dl_load()), so that
 * a run that never touches PostgreSQL or HTTP does not pay for loading
 * libpq's or libcurl's dependencies at start.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "base.h"

#define MAX_LIBS 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *soname;	/* a string constant of the caller's */
	int rc;
	char msg[200];
} libs[MAX_LIBS];
static int nlibs;

static int
load(const char *soname, const char *const *names, void **fns, size_t n,
    char *msg, size_t size)
{
	void *h;
	const char *e;
	size_t i;

	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(msg, size, "cannot load %s: %s", soname,
		    e != NULL ? e : "unknown error");
		return -1;
	}
	for (i = 0; i < n; i++) {
		dlerror();
		if ((fns[i] = dlsym(h, names[i])) == NULL) {
			snprintf(msg, size, "cannot load %s: no function %s",
			    soname, names[i]);
			return -1;
		}
	}
	return 0;
}

int
ev_dl_load(const char *soname, const char *const *names, void **fns,
    size_t n, struct ev_err *err)
{
	int i, rc;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nlibs; i++)
		if (strcmp(libs[i].soname, soname) == 0)
			break;
	if (i == nlibs) {
		if (nlibs == MAX_LIBS) {
			pthread_mutex_unlock(&lock);
			ev_err_set(err, "cannot load %s: too many libraries",
			    soname);
			return -1;
		}
		libs[i].soname = soname;
		libs[i].rc = load(soname, names, fns, n, libs[i].msg,
		    sizeof(libs[i].msg));
		nlibs++;
	}
	rc = libs[i].rc;
	if (rc < 0)
		ev_err_set(err, "%s", libs[i].msg);
	pthread_mutex_unlock(&lock);
	return rc;
}
